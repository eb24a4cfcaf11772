/**
 * An instance slot, and what the parts of the pool share. A slot keeps what outlives a process
 * (id, counters, stderr tail); `instance.ts` owns the process itself. Lifecycle changes of a slot
 * (start, stop, restart) are serialised by its `lifecycle` lock; turns on it by its `turn` lock,
 * which hands it out in FIFO order.
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as FiberSet from "effect/FiberSet"
import type * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { ExitInfo, State } from "../../InstanceStatus.js"
import type { PoolEvent } from "../../PoolEvent.js"
import type { PoolOptions } from "../../PoolOptions.js"
import type { PoolClosed, UnknownInstance } from "../../ToolPoolError.js"
import type { Alarm } from "../turn/alarm.js"
import type { TurnLock } from "../turn/turnLock.js"
import type { Host, Incarnation } from "./instance.js"
import type * as Metrics from "./metrics.js"
import type { Router } from "./router.js"

/** @internal */
export interface Slot {
  readonly id: number
  /** Turns running or waiting on this slot (the router's measure of idleness). */
  pending: number
  readonly host: Host
  state: State
  current: Incarnation | undefined
  requests: number
  restarts: number
  lastExit: ExitInfo | null
  lastError: string | null
  readonly turn: TurnLock
  /** The deadline timer of the slot's quick turns (`exchange.ts`). */
  readonly alarm: Alarm
  readonly lifecycle: Effect.Semaphore
  /** Steps the restart policy's schedule across the slot's restarts. */
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  /** Automatic restarts since the schedule was last reset. */
  attempts: number
  /** When the recent automatic restarts happened, for the intensity limit. */
  recentRestarts: Array<number>
  /** Steps the breaker's cool-downs across its trips (none under `coolDown: "never"`). */
  readonly coolDowns: Schedule.ScheduleDriver<Duration.Duration, number> | undefined
  /** Trips of the breaker since the cool-downs were last reset. */
  trips: number
  /** While backing off or cooling down: when the next attempt is due (epoch ms, the pool's clock). */
  nextAttemptAt: number | undefined
  /** `requests` when the last cool-down ended: until the instance answers one more, it is on trial. */
  requestsAtRearm: number
  /** Restarts and replacements the pool caused itself (healing, probes, recycling). */
  selfRestarts: number
  /** Turns completed by the current process (for `maxRequests`). */
  servedByCurrent: number
  /** Being removed by `resize`: no new turns. */
  retiring: boolean
  /** A replacement process is being started (`maxRequests`, `maxUptime`). */
  recycling: boolean
}

/**
 * What the pool (`pool.ts`) shares with its supervision (`supervisor.ts`) and its turns
 * (`turn/turns.ts`).
 * @internal
 */
export interface PoolCore {
  readonly options: PoolOptions
  /** Grows and shrinks with `resize`; ids stay dense: 0 .. slots.length - 1. */
  readonly slots: Array<Slot>
  readonly router: Router<Slot>
  readonly metrics: ReturnType<typeof Metrics.forPool>
  /** The pool's own scope: fibers that outlive the effect that started them run in it. */
  readonly scope: Scope.Scope
  /**
   * Lifecycle work running in the background (recycling, healing, health probes, the uptime
   * check): shutdown interrupts it before it stops the processes.
   */
  readonly background: FiberSet.FiberSet
  /** Every incarnation not yet stopped (see `Host.live`). */
  readonly live: Set<Incarnation>
  /** Runs fibers started from callbacks (the healing of an abandoned quick turn). */
  readonly runtime: Runtime.Runtime<never>
  /** Publishes a lifecycle event (and updates the instance-state gauges). */
  readonly emit: (event: PoolEvent) => Effect.Effect<boolean>
  /** The slot with this id, unless there is none or the pool is closed. */
  readonly slotOf: (id: number) => Effect.Effect<Slot, UnknownInstance | PoolClosed>
  /** Set once, by `shutdown`. */
  closed: boolean
}

/**
 * Whether the instance is on trial: its breaker tripped, and it has answered nothing since the
 * cool-down ended (a circuit breaker's half-open state). An end on trial trips the breaker again
 * at once (`supervisor.ts`).
 * @internal
 */
export const onTrial = (slot: Slot): boolean => slot.trips > 0 && slot.requests === slot.requestsAtRearm

/** The present, by the pool's clock (a `TestClock` drives it in tests). @internal */
export const nowOf = (slot: Slot): Date => new Date(slot.host.clock.unsafeCurrentTimeMillis())
