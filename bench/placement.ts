/**
 * Where the benchmark's processes run. By default `main.ts` runs the turn-by-turn sections
 * (latency, throughput) with itself, and so every tool it starts in them (children inherit the
 * mask), on one CPU, for both sides alike; the other sections run where the kernel puts them.
 * Why, with the runs that showed it: bench/README.md, "Placement" (`wakeups.ts` is the probe).
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
 * Lets every thread of this process run only on `cpus` (tools started from then on inherit
 * the mask; those already running keep theirs). Throws with the reason when `taskset`
 * (util-linux) is missing or refuses.
 */
export const runOn = (cpus: ReadonlyArray<number>): void => {
  const wanted = [...cpus].sort((a, b) => a - b).join(",")
  if (allowedCpus().join(",") === wanted) return
  try {
    execFileSync("taskset", ["--all-tasks", "--cpu-list", "--pid", wanted, String(process.pid)], {
      stdio: ["ignore", "ignore", "pipe"]
    })
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`taskset (util-linux) could not run this process on CPUs ${wanted} (${reason}); --free avoids it`)
  }
  const now = allowedCpus().join(",")
  if (now !== wanted) throw new Error(`taskset left this process on CPUs ${now}, not ${wanted}`)
}

/** Runs every thread of this process on `cpu` alone. */
export const pinTo = (cpu: number): void => runOn([cpu])
