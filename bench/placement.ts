/**
 * Where the benchmark's processes run. By default `main.ts` puts itself, and so every tool it
 * starts (children inherit the mask), on one CPU: the toolpool side and the baseline side then
 * run under the same, fixed placement.
 *
 * Why: on this kind of machine (a KVM guest whose idle CPUs halt, no guest halt-polling) a
 * turn's time depends mostly on where the kernel put the parent and the tool. When a write
 * must wake a process on the other, halted CPU, the wake-up costs tens of microseconds; when
 * both share a CPU, or the other CPU is still busy, it costs a few. The kernel moves the
 * processes between the two cases on its own, so the same plain-Node baseline gives a p50 of
 * about 20 us for a while, then about 95 us (`npx tsx bench/wakeups.ts` shows it), and
 * one latency run of the same build gave a ratio of 2.23 and the next 1.20. Pinned, both
 * sides pay for their own CPU work and nothing else, which is what the ratios are meant to
 * compare. `--free` leaves placement to the kernel, as before.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

/** The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status), lowest first. */
export const allowedCpus = (): Array<number> => {
  const status = readFileSync("/proc/self/status", "utf8")
  const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1] ?? ""
  return list.split(",").flatMap((part) => {
    const [from, to] = part.trim().split("-").map(Number)
    if (from === undefined || !Number.isInteger(from)) return []
    const last = to === undefined || !Number.isInteger(to) ? from : to
    return Array.from({ length: last - from + 1 }, (_, i) => from + i)
  })
}

/**
 * Pins every thread of this process to `cpu` (the tools it starts from now on inherit it).
 * Throws with the reason when `taskset` (util-linux) is missing or refuses.
 */
export const pinTo = (cpu: number): void => {
  execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", String(cpu), String(process.pid)], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  const now = allowedCpus()
  if (now.length !== 1 || now[0] !== cpu) throw new Error(`taskset left this process on CPUs ${now.join(",")}`)
}
