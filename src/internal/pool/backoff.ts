/**
 * The restart policy's bookkeeping for one instance, shared by the real pool and the test layer:
 * the schedule's driver, the attempts since its last reset, and the recent restarts the
 * intensity limit counts.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type { ExitInfo } from "../../InstanceStatus.js"
import type { PoolEvent } from "../../PoolEvent.js"
import type { RestartPolicy } from "../../RestartPolicy.js"

/** @internal */
export interface Backoff {
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  attempts: number
  recentRestarts: Array<number>
}

/** An instance that stayed up `resetAfter` starts its schedule afresh. @internal */
export const resetIfStable = (backoff: Backoff, policy: RestartPolicy, uptimeMillis: number): Effect.Effect<void> =>
  uptimeMillis >= Duration.toMillis(policy.resetAfter)
    ? Effect.zipRight(
      backoff.driver.reset,
      Effect.sync(() => {
        backoff.attempts = 0
      })
    )
    : Effect.void

/**
 * The next restart of an instance after `failure`: waits the schedule's delay and returns it,
 * or returns why the policy gives up (intensity passed, schedule done). `beforeWait` runs once
 * the restart is decided on, before the wait.
 * @internal
 */
export const nextRestart = (
  backoff: Backoff,
  policy: RestartPolicy,
  failure: ExitInfo,
  now: Effect.Effect<number>,
  beforeWait: Effect.Effect<void>
): Effect.Effect<Either.Either<Duration.Duration, string>> =>
  Effect.gen(function*() {
    const started = yield* now
    const window = Duration.toMillis(policy.intensity.window)
    backoff.recentRestarts = backoff.recentRestarts.filter((t) => started - t < window)
    if (backoff.recentRestarts.length >= policy.intensity.maxRestarts) {
      return Either.left(`${policy.intensity.maxRestarts} restarts within ${Duration.format(policy.intensity.window)}`)
    }
    yield* beforeWait
    const delay = yield* Effect.option(backoff.driver.next(failure))
    if (Option.isNone(delay)) return Either.left("the restart schedule is exhausted")
    backoff.attempts++
    backoff.recentRestarts.push(yield* now)
    return Either.right(delay.value)
  })

/** The event that announces a restart `nextRestart` decided on. @internal */
export const restartingEvent = (
  instance: number,
  backoff: Backoff,
  delay: Duration.Duration,
  failure: ExitInfo,
  at: Date
): PoolEvent => ({
  _tag: "Restarting",
  instance,
  attempt: backoff.attempts,
  delayMillis: Duration.toMillis(delay),
  reason: failure.signal ?? `code ${failure.code}`,
  at
})
