/**
 * When and how an instance whose process ended on its own is started again: OTP's temporary
 * (never), transient (on failure) and permanent (always), with delays from any `Schedule`, a
 * restart-intensity limit, and a reset after a stable uptime.
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
  /** At most `maxRestarts` restarts within `window`; one more and the pool gives up. */
  readonly intensity: { readonly maxRestarts: number; readonly window: Duration.Duration }
  /** An instance that stayed up this long starts its schedule afresh. */
  readonly resetAfter: Duration.Duration
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
}

/**
 * The default delays: exponential from 100 ms, jittered, each at most 10 seconds.
 *
 * @since 0.1.0
 * @category schedules
 */
export const defaultSchedule: Schedule.Schedule<unknown, ExitInfo> = Schedule.exponential("100 millis").pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(10))),
  Schedule.asVoid
)

const make = (mode: RestartPolicy["mode"], options: Options = {}): RestartPolicy => ({
  mode,
  schedule: options.schedule ?? defaultSchedule,
  intensity: {
    maxRestarts: options.maxRestarts ?? 5,
    window: Duration.decode(options.window ?? "1 minute")
  },
  resetAfter: Duration.decode(options.resetAfter ?? "1 minute")
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
 * The default: restart on failure, with the default schedule, giving up after 5 restarts
 * within a minute.
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
