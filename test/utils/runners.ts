/**
 * Runner processes of a cluster, as a user starts them: `toolpool runner` (through tsx), each
 * over a pool of the notes tool, on a loopback port of its own.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { notesToolPath } from "./notesTool.js"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface RunnerProcess {
  readonly name: string
  readonly process: ChildProcess
  readonly stderr: () => string
  /** Resolves with the exit code or signal once the runner has exited. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Pids of its tool processes now. */
  readonly tools: () => ReadonlyArray<number>
}

/** A port nobody listens on now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Children of `pid` running the notes tool. */
export const toolsOf = (pid: number): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "latin1")
        const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        return state !== "Z" && Number(ppid) === pid &&
          readFileSync(`/proc/${name}/cmdline`, "latin1").includes(notesToolPath)
      } catch {
        return false
      }
    })
    .map(Number)

/** Starts `toolpool runner` and resolves once it serves (its line on stderr), or rejects. */
export const startRunner = (options: {
  readonly storage: string
  readonly port: number
  readonly instances: number
  readonly lockExpiration: string
}): Promise<RunnerProcess> =>
  new Promise((resolve, reject) => {
    const name = `127.0.0.1:${options.port}`
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      "src/bin.ts",
      "runner",
      "--storage",
      options.storage,
      "--listen",
      name,
      "--lock-expiration",
      options.lockExpiration,
      "--instances",
      String(options.instances),
      "--",
      process.execPath,
      notesToolPath
    ], { cwd: root, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("exit", (code, signal) => done({ code, signal }))
    )
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`runner ${name} did not start in time; stderr:\n${stderr}`))
    }, 90_000)
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      if (stderr.includes(`${name} serves`)) {
        clearTimeout(timer)
        resolve({
          name,
          process: child,
          stderr: () => stderr,
          exited,
          tools: () => (child.pid === undefined ? [] : toolsOf(child.pid))
        })
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`runner ${name} exited (${code ?? signal}) before serving; stderr:\n${stderr}`))
    })
  })
