/**
 * The restart policy's bookkeeping for one instance, shared by the real pool and the test layer:
 * the schedule's driver, the attempts since its last reset, and the recent restarts the
 * intensity limit counts.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { ExitInfo } from "../../InstanceStatus.js"
import type { PoolEvent } from "../../PoolEvent.js"
import type { RestartPolicy } from "../../RestartPolicy.js"
import { defaultCoolDown } from "../../RestartPolicy.js"

/** @internal */
export interface Backoff {
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  attempts: number
  recentRestarts: Array<number>
  /** Steps the breaker's cool-downs; yields each delay without waiting it. */
  readonly coolDowns: Schedule.ScheduleDriver<Duration.Duration, number> | undefined
  /** Trips of the breaker since the cool-downs were last reset. */
  trips: number
}

/**
 * A driver whose steps yield the schedule's delays at once, without waiting them: the supervisor
 * says until when (`nextAttemptAt`), then waits.
 */
const delaysDriver = <In>(
  schedule: Schedule.Schedule<unknown, In>
): Effect.Effect<Schedule.ScheduleDriver<Duration.Duration, In>> =>
  Schedule.driver(Schedule.delays(schedule).pipe(Schedule.modifyDelay(() => Duration.zero)))

/** The driver of a policy's restart schedule. @internal */
export const restartDriver = (
  policy: RestartPolicy
): Effect.Effect<Schedule.ScheduleDriver<Duration.Duration, ExitInfo>> => delaysDriver(policy.schedule)

/** The driver of a policy's cool-downs (none under `coolDown: "never"`). @internal */
export const coolDownDriver = (
  policy: RestartPolicy
): Effect.Effect<Schedule.ScheduleDriver<Duration.Duration, number> | undefined> =>
  policy.coolDown === "never" ? Effect.succeed(undefined) : delaysDriver(policy.coolDown ?? defaultCoolDown)

/** An instance that stayed up `resetAfter` starts its schedule and its cool-downs afresh. @internal */
export const resetIfStable = (backoff: Backoff, policy: RestartPolicy, uptimeMillis: number): Effect.Effect<void> =>
  uptimeMillis >= Duration.toMillis(policy.resetAfter)
    ? Effect.all([
      backoff.driver.reset,
      backoff.coolDowns?.reset ?? Effect.void,
      Effect.sync(() => {
        backoff.attempts = 0
        backoff.trips = 0
      })
    ], { discard: true })
    : Effect.void

/**
 * The breaker trips: the next cool-down, if the policy has one left (its delay, not waited);
 * none means give up.
 * @internal
 */
export const trip = (backoff: Backoff): Effect.Effect<Option.Option<Duration.Duration>> =>
  backoff.coolDowns === undefined
    ? Effect.succeedNone
    : Effect.option(backoff.coolDowns.next(backoff.trips)).pipe(
      Effect.tap((delay) =>
        Effect.sync(() => {
          if (Option.isSome(delay)) backoff.trips++
        })
      )
    )

/** After a cool-down: a fresh intensity window and schedule, for the attempts to come. @internal */
export const rearm = (backoff: Backoff): Effect.Effect<void> =>
  Effect.zipRight(
    backoff.driver.reset,
    Effect.sync(() => {
      backoff.recentRestarts = []
      backoff.attempts = 0
    })
  )

/** Why the policy did not restart: the intensity limit (the breaker trips) or the schedule's end. @internal */
export interface NoRestart {
  readonly reason: string
  readonly tripped: boolean
}

/**
 * The next restart of an instance after `failure`: the schedule's delay, not waited (the caller
 * says until when, then waits it), or why it does not restart (intensity passed: the breaker
 * trips; schedule done).
 * @internal
 */
export const nextRestart = (
  backoff: Backoff,
  policy: RestartPolicy,
  failure: ExitInfo,
  now: Effect.Effect<number>
): Effect.Effect<Either.Either<Duration.Duration, NoRestart>> =>
  Effect.gen(function*() {
    const started = yield* now
    const window = Duration.toMillis(policy.intensity.window)
    backoff.recentRestarts = backoff.recentRestarts.filter((t) => started - t < window)
    if (backoff.recentRestarts.length >= policy.intensity.maxRestarts) {
      const reason = `${policy.intensity.maxRestarts} restarts within ${Duration.format(policy.intensity.window)}`
      return Either.left({ reason, tripped: true })
    }
    const delay = yield* Effect.option(backoff.driver.next(failure))
    if (Option.isNone(delay)) return Either.left({ reason: "the restart schedule is exhausted", tripped: false })
    backoff.attempts++
    backoff.recentRestarts.push(started)
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
