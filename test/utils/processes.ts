import { readdirSync, readFileSync } from "node:fs"

/** Whether a process is alive (a zombie counts as alive; see `running`). */
export const alive = (pid: number | null): boolean => {
  if (pid === null) return false
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Processes whose environment holds TOOLPOOL_TEST_CASE=tag. */
export const processesTagged = (tag: string): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(`TOOLPOOL_TEST_CASE=${tag}`)
      } catch {
        return false
      }
    })
    .map(Number)

/** Alive and not a zombie (a zombie is dead, waiting for a parent that may never reap it). */
export const running = (pid: number): boolean => {
  if (!alive(pid)) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}
