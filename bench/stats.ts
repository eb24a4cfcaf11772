/**
 * Small statistics and timing helpers shared by both sides of the benchmark.
 */
import type { PerformanceEntry } from "node:perf_hooks"
import { constants } from "node:perf_hooks"

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export const now = (): number => performance.now()

/** The value below which `p` (0..1) of the samples fall (nearest-rank). */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))
  return sorted[rank] ?? Number.NaN
}

export const median = (samples: ReadonlyArray<number>): number => percentile(samples, 0.5)

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis))

/**
 * Turns a side takes, in all, before a busy run of `instances` workers is timed: V8 is still
 * compiling the turn's path over the first thousands of turns, and each tool (a Node program)
 * warms up on its own share of them (`bench/warmup.ts`; bench/README.md). The throughput
 * section and `cpu.ts` both take this many.
 */
export const settledAfter = (instances: number): number => Math.max(24_000, 2500 * instances)

export const MiB = 1024 * 1024
export const KiB = 1024

/** Whether a "gc" performance entry is a young (minor) collection, as opposed to a full one. */
export const isYoungCollection = (entry: PerformanceEntry): boolean => {
  const detail: unknown = (entry as { readonly detail?: unknown }).detail
  const kind = typeof detail === "object" && detail !== null && "kind" in detail ? detail.kind : undefined
  return kind === constants.NODE_PERFORMANCE_GC_MINOR
}
