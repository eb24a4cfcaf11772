/**
 * The Effect metrics every pool updates, tagged `pool` (the pool's `name`, else its command).
 * Read them with `Metric.value`, or export them with any Effect metrics exporter.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { ToolPoolMetrics } from "toolpool"
 *
 * const okTurns = Metric.value(
 *   ToolPoolMetrics.requests.pipe(Metric.tagged("pool", "aider"), Metric.tagged("outcome", "ok"))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import * as internal from "./internal/pool/metrics.js"

/**
 * Turns (`request`, `submit`, `call`) by `outcome`: `ok`, or the tag of the error
 * (`TurnTimeout`, `InstanceExited`, ...), `interrupted` or `defect`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requests: Metric.Metric.Counter<number> = internal.requests

/**
 * Turn latency in milliseconds, from the call to its outcome (waiting for an instance included).
 *
 * @since 0.1.0
 * @category metrics
 */
export const turnLatency: Metric.Metric<
  MetricKeyType.MetricKeyType.Histogram,
  number,
  MetricState.MetricState.Histogram
> = internal.turnLatency

/**
 * Restarts of instances, whatever caused them (policy, `restart`, heal, health probe).
 *
 * @since 0.1.0
 * @category metrics
 */
export const restarts: Metric.Metric.Counter<number> = internal.restarts

/**
 * Restarts and replacements the pool caused itself: healing an abandoned turn, a failed health
 * probe, recycling (`maxRequests`, `maxUptime`, `maxMemory`). They never trip the breaker.
 *
 * @since 0.2.0
 * @category metrics
 */
export const selfRestarts: Metric.Metric.Counter<number> = internal.selfRestarts

/**
 * Trips of instances' restart breakers: each starts a cool-down (`CoolingDown` event).
 *
 * @since 0.2.0
 * @category metrics
 */
export const breakerTrips: Metric.Metric.Counter<number> = internal.breakerTrips

/**
 * `submit` and `withInstance` callers waiting for an instance.
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueDepth: Metric.Metric.Gauge<number> = internal.queueDepth

/**
 * Instances by `state`, as of the last lifecycle event (spawned, ready, exited, restarting,
 * gave up, stopped); the `ready`/`busy` split within turns is not tracked here (see `health`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const instances: Metric.Metric.Gauge<number> = internal.instances
