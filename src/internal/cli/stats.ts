/**
 * What a run has done so far: outcomes by kind and a latency histogram, in constant memory
 * however many prompts go through. One fiber records (the one that writes results), others
 * only read, so plain mutable fields are enough.
 * @internal
 */

/** Bucket i holds latencies from 1.02^(i-1) to 1.02^i microseconds, so 1200 buckets reach days. */
const GROWTH = 1.02
const BUCKETS = 1200
const logGrowth = Math.log(GROWTH)

/** @internal */
export class Tally {
  /** Prompts read from the input so far. */
  read = 0
  /** All the prompts the input holds, once known. */
  total: number | undefined = undefined
  ok = 0
  failed = 0
  /** Failures by error tag. */
  readonly byTag = new Map<string, number>()
  private readonly buckets = new Uint32Array(BUCKETS)
  private maxMs = 0
  private timed = 0

  /** One outcome; `ms` undefined for a prompt that never ran (a bad input line). */
  record(ms: number | undefined, error: string | undefined): void {
    if (error === undefined) this.ok++
    else {
      this.failed++
      this.byTag.set(error, (this.byTag.get(error) ?? 0) + 1)
    }
    if (ms === undefined) return
    this.timed++
    const micros = Math.max(1, ms * 1000)
    const bucket = Math.min(BUCKETS - 1, Math.ceil(Math.log(micros) / logGrowth))
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1
    this.maxMs = Math.max(this.maxMs, ms)
  }

  get done(): number {
    return this.ok + this.failed
  }

  /** The latency (ms) at or under which fraction `q` of the prompts that ran finished; 0 with none. */
  quantile(q: number): number {
    const rank = Math.ceil(q * this.timed)
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.buckets[i] ?? 0
      // the middle of the bucket, to be within 1%
      if (seen >= rank && seen > 0) return Math.min(this.maxMs, GROWTH ** (i - 0.5) / 1000)
    }
    return 0
  }
}

const formatMs = (ms: number): string =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`

/** "12.5/s", the rate of `done` prompts over `elapsedMs`. @internal */
export const rate = (done: number, elapsedMs: number): string =>
  `${elapsedMs <= 0 ? "0" : (done / (elapsedMs / 1000)).toFixed(1)}/s`

/**
 * The summary printed at the end of a run, e.g.
 *
 *   12 prompts in 1.4 s (8.6/s): 11 ok, 1 failed
 *     InstanceExited  1
 *   latency p50 52 ms, p99 310 ms; restarts 1
 * @internal
 */
export const summary = (tally: Tally, elapsedMs: number, restarts: number, stopped: boolean): string => {
  const head = `${tally.done} prompt${tally.done === 1 ? "" : "s"} in ${formatMs(elapsedMs)} ` +
    `(${rate(tally.done, elapsedMs)}): ${tally.ok} ok, ${tally.failed} failed`
  const tags = Array.from(tally.byTag).sort(([a], [b]) => a.localeCompare(b))
  const width = Math.max(0, ...tags.map(([tag]) => tag.length))
  const lines = [
    stopped
      ? `${head}; stopped early` + (tally.total === undefined ? "" : `, ${tally.total - tally.done} not run`)
      : head,
    ...tags.map(([tag, n]) => `  ${tag.padEnd(width)}  ${n}`),
    `latency p50 ${formatMs(tally.quantile(0.5))}, p99 ${formatMs(tally.quantile(0.99))}; restarts ${restarts}`
  ]
  return lines.join("\n") + "\n"
}
