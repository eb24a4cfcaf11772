/**
 * The default schedules' delays, as the pool steps them (pure schedule logic: no process).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { RestartPolicy } from "../src/index.js"

/** The first `n` delays of a schedule, read without waiting them. */
const delaysOf = <Out, In>(schedule: Schedule.Schedule<Out, In>, input: In, n: number) =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(
      Schedule.delays(schedule).pipe(Schedule.modifyDelay(() => Duration.zero))
    )
    const delays: Array<number> = []
    for (let i = 0; i < n; i++) delays.push(Duration.toMillis(yield* driver.next(input)))
    return delays
  })

describe("RestartPolicy defaults", () => {
  it.effect("the breaker's cool-downs: 10 s doubling to a minute, each jittered by up to 20%", () =>
    Effect.gen(function*() {
      const runs = yield* Effect.all(Array.from({ length: 20 }, () => delaysOf(RestartPolicy.defaultCoolDown, 1, 6)))
      const nominal = [10_000, 20_000, 40_000, 60_000, 60_000, 60_000]
      for (const delays of runs) {
        delays.forEach((delay, i) => {
          expect(delay).toBeGreaterThanOrEqual((nominal[i] ?? 0) * 0.8)
          expect(delay).toBeLessThanOrEqual((nominal[i] ?? 0) * 1.2)
        })
      }
      // jittered at every step, the cap included: instances that trip together come back apart
      for (let i = 0; i < nominal.length; i++) {
        expect(new Set(runs.map((delays) => delays[i])).size).toBeGreaterThan(10)
      }
    }))

  it.effect("the restart delays: 100 ms doubling, jittered, at most 10 s", () =>
    Effect.gen(function*() {
      const runs = yield* Effect.all(Array.from({ length: 20 }, () =>
        delaysOf(RestartPolicy.defaultSchedule, { code: 1, signal: null, at: new Date(0) }, 10)))
      for (const delays of runs) {
        delays.forEach((delay, i) => {
          const nominal = 100 * 2 ** i
          expect(delay).toBeGreaterThanOrEqual(Math.min(nominal * 0.8, 10_000))
          expect(delay).toBeLessThanOrEqual(Math.min(nominal * 1.2, 10_000))
        })
      }
      for (let i = 0; i < 5; i++) {
        expect(
          new Set(runs.map((delays) =>
            delays[i]
          )).size
        ).toBeGreaterThan(10)
      }
    }))
})
