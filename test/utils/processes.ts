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
