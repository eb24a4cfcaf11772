/**
 * A probe, not part of `npm run bench`: what a long run of turns costs the garbage collector.
 * Each run is a fresh process (V8's decisions about where to allocate are made per process, a
 * little differently each time) that takes 40,000 sequential `request` turns on one instance
 * (the build in `dist/`), then reports the young collections of its last 30,000: how many,
 * their mean duration, and how much the old generation grew per collection (what survived a
 * turn and was promoted; nothing of a turn should).
 *
 *   npm run build && npx tsx bench/collections.ts [runs]
 *
 * Until 4cc6838 the common turn's wait (`src/internal/exchange.ts`) was an `Effect.async` with
 * a canceler. V8 then often decided to allocate part of the canceler's wrapping in the old
 * generation, and the turn objects it points to survived until a full collection. At
 * 4cc6838's parent (a worktree, `npm run build`, this file copied in), 7 runs of 8 promoted
 * 2.25-2.26 MB per young collection, at 6.2-10.4 ms a collection; the other, 0.36 MB at 2.3 ms.
 * From 4cc6838: 0.36-0.37 MB and 1.9-2.5 ms in every run; since 0a8eb7c (the turn's parts passed
 * as arguments, not in an object V8 pretenured) 0.05 MB and 1.5-2.5 ms (bench/README.md,
 * "Collections"). One run alone, with V8's flags:
 *
 *   node --no-allocation-site-pretenuring --import tsx bench/collections.ts --one
 *
 * gave 0.04-0.05 MB and 1.6-1.75 ms, before 4cc6838 and since: the promotion is pretenuring.
 */
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { getHeapSpaceStatistics } from "node:v8"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { isYoungCollection } from "./stats.js"
import * as Drive from "./toolpool.js"

const TURNS = 40_000
const TIMED_FROM = 10_000

const oldSpace = () => getHeapSpaceStatistics().find((space) => space.space_name === "old_space")?.space_used_size ?? 0

/** One run, in this process: prints one JSON line. */
const run = async () => {
  const removeCopy = Fixture.useCopy()
  const minor: Array<number> = []
  let major = 0
  let timing = false
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (!timing) continue
      if (isYoungCollection(entry)) minor.push(entry.duration)
      else major++
    }
  })
  observer.observe({ entryTypes: ["gc"] })
  try {
    const grown = await Effect.runPromise(
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(Drive.options("prompt", 1))
        let start = 0
        for (let i = 0; i < TURNS; i++) {
          if (i === TIMED_FROM) {
            timing = true
            start = oldSpace()
          }
          yield* pool.request(0, Fixture.payload(i))
        }
        timing = false
        return oldSpace() - start
      }).pipe(Effect.scoped)
    )
    // let the observer see the last entries
    await new Promise((resolve) => setTimeout(resolve, 50))
    const mean = minor.reduce((sum, ms) => sum + ms, 0) / Math.max(1, minor.length)
    console.log(JSON.stringify({
      young: minor.length,
      meanMs: Number(mean.toFixed(2)),
      full: major,
      // a full collection in between empties the old generation: the growth says nothing then
      promotedMBPerYoung: major === 0 ? Number((grown / Math.max(1, minor.length) / 1e6).toFixed(2)) : null
    }))
  } finally {
    observer.disconnect()
    removeCopy()
  }
}

if (process.argv[2] === "--one") {
  await run()
} else {
  const runs = Number(process.argv[2] ?? 4)
  const self = fileURLToPath(import.meta.url)
  console.log(`${runs} runs of ${TURNS} turns, the last ${TURNS - TIMED_FROM} timed:`)
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ["--import", "tsx", self, "--one"], { encoding: "utf8" })
    console.log(out.trim().split("\n").pop())
  }
}
