/**
 * What the storm tests share: a killer of random instances, and the checks of a storm's
 * outcomes and of the pool's recovery after it.
 */
import { expect } from "@effect/vitest"
import type { Exit as ExitType } from "effect"
import { Duration, Effect, Exit, Random, Schedule } from "effect"
import type { ToolPool } from "../../src/index.js"
import type { Submitted } from "../../src/ToolPool.js"

const typedTags = new Set([
  "InstanceExited",
  "WriteFailed",
  "TurnTimeout",
  "InstanceNotRunning",
  "PoolUnavailable",
  "PoolBusy"
])

/**
 * SIGKILLs a random instance's process every `every`: any that has one, or (`servingOnly`) only
 * those ready or busy, not those starting or being replaced.
 */
export const killer = (pool: ToolPool.ToolPool, every: Duration.DurationInput, servingOnly: boolean) => {
  const counter = { kills: 0 }
  return Effect.gen(function*() {
    const live = (yield* pool.status).filter((s) =>
      s.pid !== null && (!servingOnly || s.state === "ready" || s.state === "busy")
    )
    const victim = live.length === 0 ? undefined : live[yield* Random.nextIntBetween(0, live.length)]
    if (victim?.pid != null) {
      try {
        process.kill(victim.pid, "SIGKILL")
        counter.kills++
      } catch {
        // already gone
      }
    }
    yield* Effect.sleep(every)
  }).pipe(Effect.forever, Effect.fork, Effect.map((fiber) => ({ fiber, counter })))
}

/**
 * Checks the outcomes of a storm: each a success with its own answer, a typed failure, or (for
 * callers who gave up) an interruption. Returns the counts, failures by instance among them.
 */
export const judge = (
  outcomes: ReadonlyArray<ExitType.Exit<Submitted, { readonly _tag: string }>>,
  expected: (i: number) => string
) => {
  let ok = 0
  let interrupted = 0
  const byTag = new Map<string, number>()
  const byInstance = new Map<number, number>()
  for (const [i, outcome] of outcomes.entries()) {
    if (Exit.isSuccess(outcome)) {
      expect(outcome.value.output).toBe(expected(i))
      ok++
    } else if (Exit.isInterrupted(outcome)) {
      interrupted++
    } else {
      const error = outcome.cause._tag === "Fail" ? outcome.cause.error : undefined
      expect(error !== undefined && typedTags.has(error._tag), `untyped end: ${String(outcome.cause)}`).toBe(true)
      if (error === undefined) continue
      byTag.set(error._tag, (byTag.get(error._tag) ?? 0) + 1)
      if ("instance" in error && typeof error.instance === "number") {
        byInstance.set(error.instance, (byInstance.get(error.instance) ?? 0) + 1)
      }
    }
  }
  return { ok, interrupted, byTag: Object.fromEntries(byTag), byInstance: Object.fromEntries(byInstance) }
}

/** No instance takes much more than its share of the failures (a black hole takes them all). */
export const fairShare = (byInstance: Record<number, number>, instances: number) => {
  const counts = Object.values(byInstance)
  const total = counts.reduce((a, b) => a + b, 0)
  expect(Math.max(0, ...counts)).toBeLessThanOrEqual(Math.max(20, (3 * total) / instances))
}

/**
 * After the storm: every instance ready again, within the longest cool-down still in force plus
 * 10 seconds; that cool-down is one of the default schedule's (at most a minute, jittered: 72 s). Returns the
 * time it took and that cool-down, in ms.
 */
export const recovers = (pool: ToolPool.ToolPool, instances: number) =>
  Effect.gen(function*() {
    const stormEnd = Date.now()
    const coolDown = Math.max(
      0,
      ...(yield* pool.status).map((s) => (s.nextAttemptAt?.getTime() ?? stormEnd) - stormEnd)
    )
    expect(coolDown).toBeLessThanOrEqual(72_000)
    yield* pool.health.pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (h) => h.ready === instances }),
      Effect.timeoutFail({
        duration: Duration.millis(coolDown + 10_000),
        onTimeout: () => new Error("not every instance came back in time")
      })
    )
    return { readyAfter: Date.now() - stormEnd, coolDown }
  })
