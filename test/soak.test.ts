import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Random, Schedule } from "effect"
import { ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"
import { alive } from "./utils/processes.js"
import { fairShare, judge, recovers } from "./utils/storm.js"

// Minutes long under the default restart policy (it waits out cool-downs): in npm run test:storms.
describe.skipIf(process.env.TOOLPOOL_STORMS !== "1")("soak", () => {
  // The pool's default restart policy, as users get it (STYLE 12): the kills trip the breaker,
  // and the pool must come back by itself.
  it.scopedLive(
    "2,000 turns over 8 instances while instances are killed every 20-50 ms, default policy",
    () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 8 }))
        const seenPids = new Set<number>()
        let kills = 0
        const killer = yield* Effect.gen(function*() {
          const status = yield* pool.status
          const live = status.filter((s) => s.pid !== null && s.state !== "stopping")
          for (const s of status) if (s.pid !== null) seenPids.add(s.pid)
          if (live.length > 0) {
            const victim = live[yield* Random.nextIntBetween(0, live.length)]
            if (victim?.pid != null) {
              try {
                process.kill(victim.pid, "SIGKILL")
                kills++
              } catch {
                // already gone
              }
            }
          }
          yield* Effect.sleep(`${yield* Random.nextIntBetween(20, 51)} millis`)
        }).pipe(Effect.forever, Effect.fork)

        const outcomes = yield* Effect.forEach(
          Array.from({ length: 2000 }, (_, i) => i),
          (i) => Effect.exit(pool.submit(`/echo turn-${i}`, { retry: Schedule.recurs(3) })),
          { concurrency: 16 }
        )
        yield* Fiber.interrupt(killer)

        // every turn ends with its own answer or a typed error; the failures are spread
        const result = judge(outcomes, (i) => `turn-${i}`)
        expect(result.interrupted).toBe(0)
        fairShare(result.byInstance, 8)
        expect(kills).toBeGreaterThan(5)
        expect(result.ok).toBeGreaterThan(0)

        // afterwards every instance comes back ready, within the cool-down in force plus 10 s
        const recovery = yield* recovers(pool, 8)
        console.log(
          `soak: ${result.ok}/2000 ok, ${kills} kills, typed failures: ${JSON.stringify(result.byTag)}; ` +
            `all ready ${recovery.readyAfter} ms after (cool-down in force ${recovery.coolDown} ms)`
        )
        for (let i = 0; i < 20; i++) expect((yield* pool.submit(`/echo after-${i}`)).output).toBe(`after-${i}`)
        const status = yield* pool.status
        for (const s of status) if (s.pid !== null) seenPids.add(s.pid)
        yield* pool.shutdown
        expect([...seenPids].filter(alive)).toEqual([])
      }).pipe(Effect.provide(NodeContext.layer)),
    300_000
  )
})
