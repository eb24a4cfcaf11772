/**
 * When and how an instance whose process ended on its own is started again: OTP's temporary
 * (never), transient (on failure) and permanent (always), with delays from any `Schedule`, a
 * restart-intensity limit that trips a breaker (the instance cools down, then tries again), and
 * a reset after a stable uptime.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import type { ExitInfo } from "./InstanceStatus.js"

/**
 * A restart policy, as data.
 *
 * @since 0.1.0
 * @category models
 */
export interface RestartPolicy {
  /** `Never`: leave it exited. `OnFailure`: restart after a non-zero exit or a signal. `Always`: restart after any exit. */
  readonly mode: "Never" | "OnFailure" | "Always"
  /**
   * The delay before each restart, fed the exit that caused it. When the schedule is done,
   * the pool gives up: the instance is `failed`.
   */
  readonly schedule: Schedule.Schedule<unknown, ExitInfo>
  /**
   * At most `maxRestarts` restarts within `window`; one more trips the breaker: the instance
   * cools down (see `coolDown`), or, under `coolDown: "never"`, the pool gives up on it.
   */
  readonly intensity: { readonly maxRestarts: number; readonly window: Duration.Duration }
  /** An instance that stayed up this long starts its schedule (and its cool-downs) afresh. */
  readonly resetAfter: Duration.Duration
  /**
   * The breaker's cool-downs: the pause after each trip of the intensity limit, fed the number
   * of trips so far. After a pause the instance is restarted with a fresh intensity window.
   * `"never"`: no cool-down, the instance is `failed` for good at the first trip. Absent: the
   * default, `defaultCoolDown`. When the schedule is done, the pool gives up.
   */
  readonly coolDown?: Schedule.Schedule<unknown, number> | "never" | undefined
}

/**
 * Options of the policy constructors; every field has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly schedule?: Schedule.Schedule<unknown, ExitInfo>
  readonly maxRestarts?: number
  readonly window?: Duration.DurationInput
  readonly resetAfter?: Duration.DurationInput
  readonly coolDown?: Schedule.Schedule<unknown, number> | "never"
}

/**
 * The default delays: exponential from 100 ms, jittered, each at most 10 seconds.
 *
 * @since 0.1.0
 * @category schedules
 */
export const defaultSchedule: Schedule.Schedule<unknown, ExitInfo> = Schedule.exponential("100 millis").pipe(
  Schedule.jittered,
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(10))),
  Schedule.asVoid
)

/**
 * The default cool-downs of the breaker: 10 seconds after the first trip, doubling for each
 * trip after it up to a minute, each jittered (0.8 to 1.2 times that: 8 to 12 s for the first,
 * 48 to 72 s at the cap), so that instances that tripped together do not all start again at the
 * same moment. A tool that stays up `resetAfter` starts again from the first.
 *
 * @since 0.2.0
 * @category schedules
 */
export const defaultCoolDown: Schedule.Schedule<unknown, number> = Schedule.exponential("10 seconds").pipe(
  // (`modifyDelay` gives the schedule's output first, the delay second)
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.minutes(1))),
  Schedule.jittered,
  Schedule.asVoid
)

const make = (mode: RestartPolicy["mode"], options: Options = {}): RestartPolicy => ({
  mode,
  schedule: options.schedule ?? defaultSchedule,
  intensity: {
    maxRestarts: options.maxRestarts ?? 5,
    window: Duration.decode(options.window ?? "1 minute")
  },
  resetAfter: Duration.decode(options.resetAfter ?? "1 minute"),
  coolDown: options.coolDown ?? defaultCoolDown
})

/**
 * Never restart (OTP's temporary): an instance that exits stays `exited` until `restart(id)`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const never: RestartPolicy = make("Never")

/**
 * Restart after a non-zero exit code or a death by signal (OTP's transient); a clean exit
 * (code 0) stays `exited`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const onFailure = (options?: Options): RestartPolicy => make("OnFailure", options)

/**
 * Restart after any exit (OTP's permanent).
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { RestartPolicy } from "toolpool"
 *
 * // 200 ms, 400 ms, 800 ms, then give up; at most 3 restarts a minute
 * const policy = RestartPolicy.always({
 *   schedule: Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(3))),
 *   maxRestarts: 3
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const always = (options?: Options): RestartPolicy => make("Always", options)

/**
 * The default: restart on failure, with the default schedule; more than 5 restarts within a
 * minute trip the breaker, which cools the instance down (`defaultCoolDown`) and tries again.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPolicy: RestartPolicy = onFailure()

/**
 * Whether the policy restarts after this exit at all.
 *
 * @since 0.1.0
 * @category predicates
 */
export const restartsAfter = (policy: RestartPolicy, exit: ExitInfo): boolean =>
  policy.mode === "Always" || (policy.mode === "OnFailure" && (exit.signal !== null || exit.code !== 0))
