/**
 * The lifeline: one small watchdog process per pool, started with the pool's first local tool,
 * that ends the tools' process groups if the pool's own process dies without stopping them
 * (SIGKILL, a crash, the OOM killer). The pool tells it each group it starts (`+pgid`) and each
 * it has stopped (`-pgid`), one line each on the watchdog's stdin. When that pipe closes (the
 * parent is gone, however it went) the watchdog sends SIGTERM to every group it still knows,
 * waits a moment, sends SIGKILL, and exits.
 *
 * Why a process and not a flag on the tools: the tools carry nothing of it (no wrapper, no
 * prctl, no changed environment), and it works the same for every transport that runs a real
 * local process. Why stdin: a pipe's end is the one thing the kernel always closes when a process
 * dies, whatever killed it.
 * @internal
 */
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"

/** How long the groups get between the watchdog's SIGTERM and its SIGKILL. */
const TERM_GRACE_MILLIS = 500

const WATCHDOG = `"use strict"
const groups = new Set()
let pending = ""
const end = () => {
  const signal = (name) => {
    for (const group of groups) {
      try { process.kill(-group, name) } catch {}
    }
  }
  if (groups.size === 0) process.exit(0)
  signal("SIGTERM")
  setTimeout(() => { signal("SIGKILL"); process.exit(0) }, ${TERM_GRACE_MILLIS})
}
process.on("SIGINT", () => {})
process.stdin.setEncoding("utf8")
process.stdin.on("data", (chunk) => {
  pending += chunk
  let at
  while ((at = pending.indexOf("\\n")) !== -1) {
    const line = pending.slice(0, at)
    pending = pending.slice(at + 1)
    const group = Number(line.slice(1))
    if (!Number.isInteger(group) || group <= 1) continue
    if (line[0] === "+") groups.add(group)
    else if (line[0] === "-") groups.delete(group)
  }
})
process.stdin.on("end", end)
process.stdin.on("error", end)
`

/** @internal */
export class Lifeline {
  private watchdog: ChildProcess | undefined = undefined
  private closed = false

  /** The watchdog ends this group if the pool's process dies before `release`. */
  hold(group: number | undefined): void {
    if (group === undefined || group <= 1) return
    this.send(`+${group}\n`)
  }

  /** The group has been stopped by the pool: the watchdog forgets it. */
  release(group: number | undefined): void {
    if (group === undefined || group <= 1 || this.watchdog === undefined) return
    this.send(`-${group}\n`)
  }

  /** The pool is shut down: the watchdog exits (ending any group it still holds). */
  close(): void {
    this.closed = true
    this.watchdog?.stdin?.end()
    this.watchdog = undefined
  }

  private send(line: string): void {
    const stdin = this.start()?.stdin
    if (stdin === null || stdin === undefined || stdin.destroyed) return
    stdin.write(line)
  }

  /** Started at the first group to hold, not waited for: a spawn does not wait for it. */
  private start(): ChildProcess | undefined {
    if (this.watchdog !== undefined || this.closed) return this.watchdog
    try {
      const watchdog = spawn(process.execPath, ["-e", WATCHDOG], {
        stdio: ["pipe", "ignore", "ignore"],
        // its own group: a terminal's ^C to the parent's group does not take it, and the
        // groups it ends are never its own
        detached: true
      })
      watchdog.on("error", () => {
        if (this.watchdog === watchdog) this.watchdog = undefined
      })
      watchdog.stdin?.on("error", () => {})
      // It must not keep the parent's event loop alive.
      watchdog.unref()
      const pipe: unknown = watchdog.stdin
      if (typeof pipe === "object" && pipe !== null && "unref" in pipe && typeof pipe.unref === "function") {
        pipe.unref()
      }
      this.watchdog = watchdog
    } catch {
      // no watchdog: the pool still stops its tools itself, as it always did
      this.watchdog = undefined
    }
    return this.watchdog
  }
}
