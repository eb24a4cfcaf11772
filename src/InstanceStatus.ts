/**
 * What the pool reports about its instances: per-instance status and pool-wide health.
 * Both are schemas, so they can be encoded to JSON and described as JSON Schema.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The life of an instance: `starting` until ready, `ready` when idle, `busy` during a turn,
 * `stopping` while it is being shut down (or, broken, replaced), `backing-off` before a restart,
 * `cooling-down` while its restart breaker is open (too many restarts: it tries again at
 * `nextAttemptAt`), `exited` when its process ended and nothing restarts it, `failed` when the
 * pool gave up on it, and `stopped` after the pool shut it down.
 *
 * @since 0.1.0
 * @category models
 */
export const State = Schema.Literal(
  "starting",
  "ready",
  "busy",
  "stopping",
  "backing-off",
  "cooling-down",
  "exited",
  "failed",
  "stopped"
)

/**
 * @since 0.1.0
 * @category models
 */
export type State = typeof State.Type

/**
 * How a process ended: an exit code, or the signal that killed it.
 *
 * @since 0.1.0
 * @category models
 */
export const ExitInfo = Schema.Struct({
  code: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  at: Schema.Date
})

/**
 * @since 0.1.0
 * @category models
 */
export type ExitInfo = typeof ExitInfo.Type

/**
 * One instance, as `ToolPool.status` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export const InstanceStatus = Schema.Struct({
  id: Schema.Int,
  pid: Schema.NullOr(Schema.Int),
  state: State,
  startedAt: Schema.NullOr(Schema.Date),
  uptimeMillis: Schema.NonNegative,
  /** Turns completed by this instance, across restarts. */
  requests: Schema.NonNegativeInt,
  /** Every restart: after a crash, by hand, or the pool's own (see `selfRestarts`). */
  restarts: Schema.NonNegativeInt,
  /**
   * Of `restarts`, and replacements by recycling, those the pool caused itself: healing an
   * abandoned turn (the tool's exit on the interrupt among them), a failed health probe,
   * `maxRequests` / `maxUptime` / `maxMemory`. They never trip the breaker.
   */
  selfRestarts: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  /** While `backing-off` or `cooling-down`: when the next attempt to start it is due. */
  nextAttemptAt: Schema.optional(Schema.Date),
  lastExit: Schema.NullOr(ExitInfo),
  lastError: Schema.NullOr(Schema.String),
  stderrTail: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export type InstanceStatus = typeof InstanceStatus.Type

/**
 * Counts of instances by state, as `ToolPool.health` reports them.
 *
 * @since 0.1.0
 * @category models
 */
export const Health = Schema.Struct({
  total: Schema.NonNegativeInt,
  /** Instances with a live process: `ready` plus `busy`. */
  alive: Schema.NonNegativeInt,
  ready: Schema.NonNegativeInt,
  busy: Schema.NonNegativeInt,
  starting: Schema.NonNegativeInt,
  stopping: Schema.NonNegativeInt,
  backingOff: Schema.NonNegativeInt,
  coolingDown: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  exited: Schema.NonNegativeInt,
  failed: Schema.NonNegativeInt,
  stopped: Schema.NonNegativeInt
})

/**
 * @since 0.1.0
 * @category models
 */
export type Health = typeof Health.Type

/**
 * Counts the instances of a status snapshot by state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const health = (instances: ReadonlyArray<InstanceStatus>): Health => {
  const by = (state: State) => instances.filter((i) => i.state === state).length
  const ready = by("ready")
  const busy = by("busy")
  return {
    total: instances.length,
    alive: ready + busy,
    ready,
    busy,
    starting: by("starting"),
    stopping: by("stopping"),
    backingOff: by("backing-off"),
    coolingDown: by("cooling-down"),
    exited: by("exited"),
    failed: by("failed"),
    stopped: by("stopped")
  }
}
