/**
 * A probe, not part of `npm run bench`: how many bytes of the parent's heap one turn allocates,
 * by `request` on instance 0 and by `submit` (the build in `dist/`), after 3000 warm-up turns.
 * V8's sampling heap profiler records one allocation in about every 128 bytes, whether the
 * object dies young or not; the total over 20,000 turns, divided by 20,000, is the figure. With
 * `--by-site`, the sites that allocate the most per turn are listed too (the function, file and
 * line where V8 saw the allocation: much of it is inside Effect's run loop and Node's streams).
 *
 *   npm run build && npx tsx bench/allocations.ts [--by-site]
 */
import * as Effect from "effect/Effect"
import type { HeapProfiler } from "node:inspector"
import { Session } from "node:inspector/promises"
import * as Baseline from "./baseline.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import * as Drive from "./toolpool.js"

const TURNS = 20_000
const WARMUP = 3000
const SAMPLING_BYTES = 128
const bySite = process.argv.includes("--by-site")

type Node = HeapProfiler.SamplingHeapProfileNode

/** Bytes per site (function, file, line), summed over the profile's tree. */
const sites = (root: Node): Map<string, number> => {
  const bytes = new Map<string, number>()
  const visit = (node: Node) => {
    const { functionName, lineNumber, url } = node.callFrame
    const site = `${functionName || "(anonymous)"} ${url.split("/").slice(-3).join("/")}:${lineNumber + 1}`
    if (node.selfSize > 0) bytes.set(site, (bytes.get(site) ?? 0) + node.selfSize)
    for (const child of node.children) visit(child)
  }
  visit(root)
  return bytes
}

Baseline.useToolCopy()
const session = new Session()
session.connect()
await session.post("HeapProfiler.enable")

await Effect.runPromise(
  Effect.gen(function*() {
    const pool = yield* ToolPool.make(Drive.options("prompt", 1))
    const turns = {
      request: (i: number) => pool.request(0, Fixture.payload(i)),
      submit: (i: number) => Effect.map(pool.submit(Fixture.payload(i)), (reply) => reply.output)
    }
    for (const [name, turn] of Object.entries(turns)) {
      for (let i = 0; i < WARMUP; i++) Fixture.checkReply(name, i, yield* turn(i))
      yield* Effect.promise(() =>
        session.post("HeapProfiler.startSampling", {
          samplingInterval: SAMPLING_BYTES,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true
        })
      )
      for (let i = 0; i < TURNS; i++) Fixture.checkReply(name, i, yield* turn(i))
      const { profile } = yield* Effect.promise(() => session.post("HeapProfiler.stopSampling"))
      const bytes = sites(profile.head)
      const total = [...bytes.values()].reduce((sum, b) => sum + b, 0)
      console.log(`${name}: ${(total / TURNS).toFixed(0)} bytes per turn`)
      if (bySite) {
        const top = [...bytes].sort((a, b) => b[1] - a[1]).slice(0, 25)
        for (const [site, b] of top) console.log(`  ${(b / TURNS).toFixed(0).padStart(6)}  ${site}`)
      }
    }
  }).pipe(Effect.scoped)
)
session.disconnect()
