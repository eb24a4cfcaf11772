/**
 * A probe, not part of `npm run bench`: the time of one 8 MiB response through each framing,
 * the pool alone (the build in `dist/`), wall and parent CPU up to the first read of the
 * answer's last character (as `npm run bench` times it), medians of 15 after 5 warm-ups.
 * For comparing two commits of the pool on a busy machine, where the raw pipe baseline of
 * `npm run bench -- --only large` moves too much between runs:
 *
 *   npm run build && npx tsx bench/flood.ts
 */
import * as Effect from "effect/Effect"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { median, MiB, now } from "./stats.js"
import * as Drive from "./toolpool.js"

const BYTES = 8 * MiB

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
    const runs = yield* Effect.all(Array.from({ length: 15 }, () => one))
    const wall = median(runs.map(([ms]) => ms))
    const cpu = median(runs.map(([, ms]) => ms))
    console.log(
      `${mode.padEnd(6)} ${wall.toFixed(1)} ms (${(BYTES / MiB / (wall / 1000)).toFixed(0)} MiB/s), ` +
        `parent CPU ${cpu.toFixed(1)} ms`
    )
  }).pipe(Effect.scoped)

const removeCopy = Fixture.useCopy()
try {
  await Effect.runPromise(Effect.forEach(["lines", "prompt"] as const, measure, { discard: true }))
} finally {
  removeCopy()
}
