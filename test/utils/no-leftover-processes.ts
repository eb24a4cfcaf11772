/**
 * Fails the run if any process started by this test run is still alive after the suite:
 * a pool that leaks a process is a bug, whichever test leaked it.
 *
 * Every process the tests spawn inherits TOOLPOOL_TEST_RUN (pools extend the parent's
 * environment), and so do their children, so the check finds exactly this run's processes,
 * even orphans re-parented to init, and never another run's.
 */
import { randomUUID } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"

const marker = `TOOLPOOL_TEST_RUN=${randomUUID()}`

const environ = (pid: string): string => {
  try {
    return readFileSync(`/proc/${pid}/environ`, "latin1")
  } catch {
    return "" // gone, or not ours to read
  }
}

/** Zombies are already dead, and vitest's own workers (our direct children) are not tools. */
const isToolProcess = (pid: string): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    // state and parent pid follow the parenthesised command name, which may hold spaces
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return state !== "Z" && Number(ppid) !== process.pid
  } catch {
    return false
  }
}

const leftovers = (): Array<{ pid: number; args: string }> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) => environ(pid).split("\0").includes(marker) && isToolProcess(pid))
    .map((pid) => {
      let args = ""
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim()
      } catch {
        // gone meanwhile
      }
      return { pid: Number(pid), args }
    })

export const setup = (): void => {
  process.env.TOOLPOOL_TEST_RUN = marker.slice("TOOLPOOL_TEST_RUN=".length)
}

export const teardown = async (): Promise<void> => {
  // a moment for processes already on their way out
  for (let i = 0; i < 20 && leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
  const left = leftovers()
  if (left.length === 0) return
  for (const p of left) {
    try {
      process.kill(p.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  throw new Error(
    `processes started by the tests outlived the suite:\n${left.map((p) => `${p.pid} ${p.args}`).join("\n")}`
  )
}
