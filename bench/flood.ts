/**
 * A probe, not part of `npm run bench`: the time of one 8 MiB response through each framing,
 * the pool alone (the build in `dist/`), wall and parent CPU up to the first read of the
 * answer's last character (as `npm run bench` times it), medians of 15 after 5 warm-ups; and
 * the garbage collection over those 15 (its time per flood, and how many full collections).
 * For comparing two commits of the pool on a busy machine, where the raw pipe baseline of
 * `npm run bench -- --only large` moves too much between runs:
 *
 *   npm run build && npx tsx bench/flood.ts
 */
import * as Effect from "effect/Effect"
import { PerformanceObserver } from "node:perf_hooks"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { isYoungCollection, median, MiB, now } from "./stats.js"
import * as Drive from "./toolpool.js"

const BYTES = 8 * MiB
const RUNS = 15

/** Collections since the last `reset`: their time, and how many were full (not young) ones. */
const gc = { ms: 0, full: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.ms += entry.duration
    if (!isYoungCollection(entry)) gc.full++
  }
}).observe({ entryTypes: ["gc"] })

const measure = (mode: Drive.Mode) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.make(Drive.options(mode, 1))
    const one = Effect.gen(function*() {
      const cpu = process.cpuUsage()
      const start = now()
      yield* Drive.flood(pool, BYTES)
      const wall = now() - start
      const used = process.cpuUsage(cpu)
      return [wall, (used.user + used.system) / 1000] as const
    })
    for (let i = 0; i < 5; i++) yield* one
    // the observer hears of a collection a little after it: let the warm-up's arrive first
    yield* Effect.sleep("20 millis")
    gc.ms = 0
    gc.full = 0
    const runs = yield* Effect.all(Array.from({ length: RUNS }, () => one))
    yield* Effect.sleep("20 millis")
    const wall = median(runs.map(([ms]) => ms))
    const cpu = median(runs.map(([, ms]) => ms))
    console.log(
      `${mode.padEnd(6)} ${wall.toFixed(1)} ms (${(BYTES / MiB / (wall / 1000)).toFixed(0)} MiB/s), ` +
        `parent CPU ${cpu.toFixed(1)} ms, GC ${(gc.ms / RUNS).toFixed(1)} ms per flood ` +
        `(${gc.full} full collections in ${RUNS} floods)`
    )
  }).pipe(Effect.scoped)

const removeCopy = Fixture.useCopy()
try {
  await Effect.runPromise(Effect.forEach(["lines", "prompt"] as const, measure, { discard: true }))
} finally {
  removeCopy()
}
