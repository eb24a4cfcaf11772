/**
 * The pool's Effect metrics. Updated with `unsafeUpdate` from synchronous code on the turn's
 * path, which costs a map lookup rather than an extra effect per turn. Every series is tagged
 * with the pool's name.
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import type { State } from "../../InstanceStatus.js"
import { State as StateSchema } from "../../InstanceStatus.js"

/** Turns (request, submit, call) by outcome: `ok` or the error's tag. @internal */
export const requests = Metric.counter("toolpool_requests", {
  description: "turns by outcome (ok, or the tag of the error)",
  incremental: true
})

/** Turn latency in milliseconds, from the call to its outcome. @internal */
export const turnLatency = Metric.histogram(
  "toolpool_turn_latency",
  MetricBoundaries.exponential({ start: 0.25, factor: 2, count: 20 }),
  "turn latency in milliseconds"
)

/** Restarts of instances: automatic, by hand, by heal or probe. @internal */
export const restarts = Metric.counter("toolpool_restarts", { description: "instance restarts", incremental: true })

/** Restarts and replacements the pool caused itself (healing, probes, recycling). @internal */
export const selfRestarts = Metric.counter("toolpool_self_restarts", {
  description: "restarts and replacements the pool caused itself (healing, probes, recycling)",
  incremental: true
})

/** Trips of instances' restart breakers (each starts a cool-down). @internal */
export const breakerTrips = Metric.counter("toolpool_breaker_trips", {
  description: "restart breaker trips (cool-downs started)",
  incremental: true
})

/** `submit` callers waiting for an instance. @internal */
export const queueDepth = Metric.gauge("toolpool_queue_depth", { description: "submit callers waiting" })

/** Instances by state. @internal */
export const instances = Metric.gauge("toolpool_instances", { description: "instances by state" })

const states: ReadonlyArray<State> = StateSchema.literals

/** How a turn ended, as the `outcome` tag of `toolpool_requests`. @internal */
export const outcomeOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string =>
  Exit.isSuccess(exit)
    ? "ok"
    : exit.cause._tag === "Fail"
    ? exit.cause.error._tag
    : Cause.isInterruptedOnly(exit.cause)
    ? "interrupted"
    : "defect"

/** The metric updates of one pool, its name bound into every series. @internal */
export const forPool = (pool: string) => {
  const poolLabel = MetricLabel.make("pool", pool)
  const outcomeLabels = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const labelsFor = (outcome: string) => {
    let labels = outcomeLabels.get(outcome)
    if (labels === undefined) {
      labels = [poolLabel, MetricLabel.make("outcome", outcome)]
      outcomeLabels.set(outcome, labels)
    }
    return labels
  }
  const stateLabels = new Map(states.map((state) => [state, [poolLabel, MetricLabel.make("state", state)]]))
  const poolOnly = [poolLabel]
  return {
    turn: (outcome: string, millis: number) => {
      requests.unsafeUpdate(1, labelsFor(outcome))
      turnLatency.unsafeUpdate(millis, poolOnly)
    },
    restart: () => restarts.unsafeUpdate(1, poolOnly),
    selfRestart: () => selfRestarts.unsafeUpdate(1, poolOnly),
    trip: () => breakerTrips.unsafeUpdate(1, poolOnly),
    queue: (depth: number) => queueDepth.unsafeUpdate(depth, poolOnly),
    states: (current: ReadonlyArray<State>) => {
      for (const state of states) {
        instances.unsafeUpdate(current.filter((s) => s === state).length, stateLabels.get(state) ?? poolOnly)
      }
    }
  }
}
