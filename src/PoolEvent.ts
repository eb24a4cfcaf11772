/**
 * Lifecycle events of a pool's instances, as `ToolPool.events` streams them.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const instance = { instance: Schema.Int, at: Schema.Date }

/**
 * A process was spawned for the instance.
 *
 * @since 0.1.0
 * @category models
 */
export const Spawned = Schema.TaggedStruct("Spawned", { ...instance, pid: Schema.Int })

/**
 * The instance is ready to serve.
 *
 * @since 0.1.0
 * @category models
 */
export const Ready = Schema.TaggedStruct("Ready", { ...instance, pid: Schema.Int })

/**
 * The instance's process ended (on its own, or stopped by the pool when `expected`).
 *
 * @since 0.1.0
 * @category models
 */
export const Exited = Schema.TaggedStruct("Exited", {
  ...instance,
  pid: Schema.Int,
  code: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  expected: Schema.Boolean
})

/**
 * The instance is being started again, after waiting `delayMillis` as its restart policy said
 * (emitted once the wait is over, just before the spawn).
 *
 * @since 0.1.0
 * @category models
 */
export const Restarting = Schema.TaggedStruct("Restarting", {
  ...instance,
  attempt: Schema.Int,
  delayMillis: Schema.NonNegative,
  reason: Schema.String
})

/**
 * The instance's breaker tripped (the `trip`-th time): too many restarts within the intensity
 * window, or an end on trial, before it answered anything after its last cool-down (`reason`
 * says which). It rests for `delayMillis`, until `until`, then is restarted with a fresh window.
 *
 * @since 0.2.0
 * @category models
 */
export const CoolingDown = Schema.TaggedStruct("CoolingDown", {
  ...instance,
  trip: Schema.Int,
  delayMillis: Schema.NonNegative,
  until: Schema.Date,
  reason: Schema.String
})

/**
 * The restart policy gave up on the instance: it is `failed`.
 *
 * @since 0.1.0
 * @category models
 */
export const GaveUp = Schema.TaggedStruct("GaveUp", { ...instance, reason: Schema.String })

/**
 * The pool stopped the instance (shutdown, `restart(id)`, resize, a failed probe or heal).
 * Recycling publishes no `Stopped`: its replacement is ready first (see docs/supervision.md).
 *
 * @since 0.1.0
 * @category models
 */
export const Stopped = Schema.TaggedStruct("Stopped", { ...instance })

/**
 * Any lifecycle event.
 *
 * @since 0.1.0
 * @category models
 */
export const PoolEvent = Schema.Union(Spawned, Ready, Exited, Restarting, CoolingDown, GaveUp, Stopped)

/**
 * @since 0.1.0
 * @category models
 */
export type PoolEvent = typeof PoolEvent.Type
