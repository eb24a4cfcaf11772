import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Random, Schedule } from "effect"
import { RestartPolicy, ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"
import { alive } from "./utils/processes.js"

const knownTags = new Set([
  "InstanceExited",
  "WriteFailed",
  "PoolBusy",
  "TurnTimeout",
  "InstanceNotRunning"
])

describe("soak", () => {
  it.scopedLive("2,000 turns over 8 instances while instances are killed every 20-50 ms", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({
          instances: 8,
          turnTimeout: "10 seconds",
          restart: RestartPolicy.always({ schedule: Schedule.spaced("10 millis"), maxRestarts: 10_000 })
        })
      )
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

      let ok = 0
      const failures = new Map<string, number>()
      for (const [i, outcome] of outcomes.entries()) {
        if (Exit.isSuccess(outcome)) {
          // never someone else's answer
          expect(outcome.value.output).toBe(`turn-${i}`)
          ok++
        } else {
          // every failure is a typed error, never a defect or an interruption
          const failure = outcome.cause._tag === "Fail" ? outcome.cause.error : undefined
          expect(failure && knownTags.has(failure._tag)).toBe(true)
          if (failure) failures.set(failure._tag, (failures.get(failure._tag) ?? 0) + 1)
        }
      }
      console.log(`soak: ${ok} ok, ${kills} kills, typed failures: ${JSON.stringify(Object.fromEntries(failures))}`)
      expect(kills).toBeGreaterThan(5)
      expect(ok).toBeGreaterThan(0)

      // afterwards every instance comes back ready
      yield* pool.health.pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (h) => h.ready === 8 }),
        Effect.timeout("20 seconds")
      )
      const status = yield* pool.status
      for (const s of status) if (s.pid !== null) seenPids.add(s.pid)
      yield* pool.shutdown
      expect([...seenPids].filter(alive)).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer)), 120_000)
})
