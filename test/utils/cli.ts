/**
 * Runs the `toolpool` executable as a user would: a real process (`node --import tsx src/bin.ts`)
 * with its stdin, stdout, stderr and exit code.
 */
import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

export interface CliRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** stdout, one parsed JSON value per line. */
  readonly results: ReadonlyArray<Record<string, unknown>>
}

export interface CliOptions {
  /** Written to stdin; stdin is then closed unless `keepStdinOpen`. */
  readonly stdin?: string
  readonly keepStdinOpen?: boolean
  /** Sent once `when` holds of the output so far. */
  readonly signal?: {
    readonly name: NodeJS.Signals
    readonly when: (output: { readonly stdout: string; readonly stderr: string }) => boolean
  }
  /** Killed (and the test failed) after this long. */
  readonly timeoutMs?: number
}

export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/bin.ts", ...args], {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let signalled = false
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`toolpool ${args.join(" ")} did not end in time; stderr:\n${stderr}`))
    }, options.timeoutMs ?? 50_000)
    const maybeSignal = () => {
      if (options.signal !== undefined && !signalled && options.signal.when({ stdout, stderr })) {
        signalled = true
        child.kill(options.signal.name)
      }
    }
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text
      maybeSignal()
    })
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text
      maybeSignal()
    })
    child.stdin.on("error", () => {}) // the CLI may exit before reading all of it
    if (options.stdin !== undefined) child.stdin.write(options.stdin)
    if (options.keepStdinOpen !== true) child.stdin.end()
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      child.stdin.destroy()
      const results = stdout.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
      resolve({ code, signal, stdout, stderr, results })
    })
  })

/** Live processes whose environment holds `entry` (e.g. `K=V` given with `--env`), as "pid state args". */
export const processesWithEnv = (entry: string): ReadonlyArray<string> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
        const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]
        if (state === "Z" || !readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(entry)) return []
        const args = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim()
        return [`${pid} ${state} ${args}`]
      } catch {
        return [] // gone, or not ours to read
      }
    })
