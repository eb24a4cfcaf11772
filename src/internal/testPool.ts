/**
 * A pool without processes, for users' tests: the same service, the same routing (the real
 * router), the same states, counters, events and errors, with answers from a function or a
 * script instead of a tool.
 *
 * It updates the same metrics as the real pool, tagged with its `name` (else `"toolpool-test"`).
 *
 * An instance here is an incarnation counter and two queues: what `send` wrote, and the answers
 * not yet `read`. A turn runs the user's `respond`; an `InstanceExited` from it ends the
 * incarnation as a crash would, and the restart policy takes over as in the real pool. The
 * instances, their answers and their restarts are in `testInstance.ts`; this file is the pool
 * around them.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { InstanceStatus } from "../InstanceStatus.js"
import { health as countHealth } from "../InstanceStatus.js"
import type { PoolEvent } from "../PoolEvent.js"
import { decode } from "../PoolOptions.js"
import type {
  Lease,
  Notification,
  RestartError,
  SendError,
  SubmitError,
  SubmitOptions,
  Submitted,
  ToolPool,
  TurnError,
  TurnOptions
} from "../ToolPool.js"
import type { PoolBusy, UnknownInstance } from "../ToolPoolError.js"
import { ConfigError, InstanceNotRunning, PoolClosed, TurnTimeout } from "../ToolPoolError.js"
import type { Options } from "../ToolPoolTest.js"
import * as Metrics from "./metrics.js"
import { lookup, makeRouter, retire, useReserved } from "./router.js"
import type { Incarnation, Slot, TestCore } from "./testInstance.js"
import { isAlive, makeInstances, toEffect } from "./testInstance.js"

/** @internal */
export const make = (testOptions: Options = {}): Effect.Effect<ToolPool, ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { call: callHandler, latency, respond, script, ...input } = testOptions
    const options = yield* decode({ command: "toolpool-test", ...input })
    const poolScope = yield* Effect.scope
    const sizing = yield* Effect.makeSemaphore(1)
    const shutdownDone = yield* Deferred.make<void>()
    const now = Clock.currentTimeMillis
    const at = Effect.map(now, (millis) => new Date(millis))

    const notifications = yield* PubSub.sliding<Notification>(1024)
    const events = yield* PubSub.sliding<PoolEvent>(1024)
    const metrics = Metrics.forPool(options.name ?? options.command)
    const emit = (event: PoolEvent) =>
      Effect.suspend(() => {
        metrics.states(slots.map((slot) => slot.state))
        return PubSub.publish(events, event)
      })
    const measured = <A, E extends { readonly _tag: string }, R>(turn: Effect.Effect<A, E, R>) =>
      Effect.flatMap(
        now,
        (started) =>
          Effect.onExit(turn, (exit) =>
            Effect.flatMap(now, (ended) =>
              Effect.sync(() => metrics.turn(Metrics.outcomeOf(exit), ended - started))))
      )

    const makeSlot = (id: number): Effect.Effect<Slot> =>
      Effect.map(Schedule.driver(Schedule.delays(options.restart.schedule)), (driver): Slot => ({
        id,
        state: "starting",
        pending: 0,
        retiring: false,
        current: undefined,
        requests: 0,
        restarts: 0,
        lastExit: null,
        lastError: null,
        turn: Effect.unsafeMakeSemaphore(1),
        lifecycle: Effect.unsafeMakeSemaphore(1),
        driver,
        attempts: 0,
        recentRestarts: []
      }))
    const slots: Array<Slot> = yield* Effect.forEach(Array.from({ length: options.instances }, (_, id) => id), makeSlot)
    const router = makeRouter(slots, options.maxQueue, metrics.queue)
    const pool: TestCore = { options, router, metrics, scope: poolScope, notifications, emit, now, at, closed: false }
    const { answer, countRestart, spawn, stop, supervisors } = yield* makeInstances(pool, { latency, respond, script })

    const slotOf = (id: number): Effect.Effect<Slot, UnknownInstance | PoolClosed> =>
      lookup(slots, () => pool.closed, id)

    const serving = (slot: Slot): Effect.Effect<Incarnation, InstanceNotRunning> =>
      Effect.suspend(() =>
        slot.current !== undefined && isAlive(slot)
          ? Effect.succeed(slot.current)
          : Effect.fail(new InstanceNotRunning({ instance: slot.id, state: slot.state }))
      )

    const deadline = (slot: Slot, timeout: Duration.DurationInput | undefined) => {
      const duration = timeout ?? options.turnTimeout
      return Effect.timeoutFail({
        duration,
        onTimeout: () =>
          new TurnTimeout({
            instance: slot.id,
            pid: slot.current?.pid ?? null,
            timeout: Duration.decode(duration),
            kind: "deadline"
          })
      })
    }

    const send = (id: number, text: string): Effect.Effect<void, SendError> =>
      Effect.flatMap(slotOf(id), serving).pipe(
        Effect.flatMap((inc) => Queue.offer(inc.stdin, text)),
        Effect.asVoid
      )

    const read = (id: number, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        serving(slot).pipe(
          Effect.flatMap((inc) => Queue.take(inc.responses)),
          Effect.flatten,
          slot.turn.withPermits(1),
          deadline(slot, turn?.timeout)
        ))

    /** One turn on the slot, its lock held: unread answers dropped (as the real pool does), then `respond`. */
    const turnOn = (slot: Slot, text: string): Effect.Effect<string, TurnError> =>
      Effect.gen(function*() {
        const inc = yield* serving(slot)
        yield* Queue.takeAll(inc.responses)
        slot.state = "busy"
        const output = yield* answer(slot, inc, text).pipe(
          // counted when answered, as by the real pool: an answer too large or a continuation prompt too
          Effect.tapError((error) =>
            Effect.sync(() => {
              if (error._tag === "ResponseTooLarge" || error._tag === "IncompleteInput") slot.requests++
            })
          ),
          Effect.ensuring(Effect.sync(() => {
            if (slot.state === "busy") slot.state = "ready"
          }))
        )
        slot.requests++
        return output
      }).pipe(slot.turn.withPermits(1))

    const release = (slot: Slot) =>
      Effect.sync(() => {
        slot.pending--
        router.dispatch()
      })

    const request = (id: number, text: string, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        Effect.sync(() => {
          slot.pending++
        }).pipe(
          Effect.zipRight(turnOn(slot, text)),
          Effect.ensuring(release(slot)),
          deadline(slot, turn?.timeout),
          Effect.withSpan("toolpool.turn", { attributes: { instance: id }, captureStackTrace: false }),
          measured
        ))

    const call = (
      id: number,
      method: string,
      params?: unknown,
      turn?: TurnOptions
    ): Effect.Effect<unknown, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        Effect.gen(function*() {
          const inc = yield* serving(slot)
          if (callHandler === undefined) {
            return yield* Effect.dieMessage("ToolPoolTest: call needs a `call` handler in the test layer's options")
          }
          const result = yield* Effect.suspend(() =>
            toEffect(callHandler(method, params, id, {
              pid: inc.pid,
              notify: (method, params) => PubSub.publish(notifications, { instance: id, method, params })
            }))
          )
          slot.requests++
          return result
        }).pipe(
          deadline(slot, turn?.timeout),
          Effect.withSpan("toolpool.call", { attributes: { instance: id, method }, captureStackTrace: false }),
          measured
        ))

    const acquire = (key: string | undefined, timeout: Duration.DurationInput | undefined) =>
      Effect.suspend((): Effect.Effect<Slot, PoolBusy | PoolClosed> =>
        pool.closed
          ? Effect.fail(new PoolClosed())
          : router.acquire(key, timeout === undefined ? options.acquireTimeout : Duration.decode(timeout))
      )

    const submitOnce = (text: string, submit: SubmitOptions | undefined): Effect.Effect<Submitted, SubmitError> =>
      Effect.flatMap(acquire(submit?.key, submit?.acquireTimeout), (slot) =>
        turnOn(slot, text).pipe(
          Effect.map((output): Submitted => ({ instance: slot.id, output })),
          Effect.ensuring(release(slot)),
          deadline(slot, submit?.timeout),
          Effect.withSpan("toolpool.turn", { attributes: { instance: slot.id }, captureStackTrace: false })
        )).pipe(measured)

    const submit = (text: string, submit?: SubmitOptions): Effect.Effect<Submitted, SubmitError> =>
      submit?.retry === undefined
        ? submitOnce(text, submit)
        : submitOnce(text, submit).pipe(
          Effect.retry({
            schedule: submit.retry,
            while: (error) => error._tag === "InstanceExited" || error._tag === "WriteFailed"
          })
        )

    const withInstance = <A, E, R>(
      use: (lease: Lease) => Effect.Effect<A, E, R>,
      lease?: { readonly key?: string | undefined; readonly acquireTimeout?: Duration.DurationInput | undefined }
    ): Effect.Effect<A, E | PoolBusy | PoolClosed, R> =>
      useReserved(
        acquire(lease?.key, lease?.acquireTimeout),
        (slot) =>
          use({
            instance: slot.id,
            request: (text, turn) => request(slot.id, text, turn),
            send: (text) => send(slot.id, text),
            read: (turn) => read(slot.id, turn)
          }),
        release
      )

    const status: Effect.Effect<ReadonlyArray<InstanceStatus>> = Effect.map(
      now,
      (millis) =>
        slots.map((slot): InstanceStatus => {
          const inc = slot.current
          const alive = inc !== undefined && isAlive(slot)
          return {
            id: slot.id,
            pid: alive ? inc.pid : null,
            state: slot.state,
            startedAt: alive ? new Date(inc.startedAt) : null,
            uptimeMillis: alive ? Math.max(0, millis - inc.startedAt) : 0,
            requests: slot.requests,
            restarts: slot.restarts,
            lastExit: slot.lastExit,
            lastError: slot.lastError,
            stderrTail: ""
          }
        })
    )

    const restart = (id: number): Effect.Effect<void, RestartError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        Effect.gen(function*() {
          if (pool.closed) return yield* Effect.fail(new PoolClosed())
          yield* FiberMap.remove(supervisors, slot.id)
          yield* stop(slot, "stopped")
          countRestart(slot)
          yield* spawn(slot)
        }).pipe(slot.lifecycle.withPermits(1)))

    const resize = (size: number): Effect.Effect<void, ConfigError | PoolClosed> =>
      Effect.gen(function*() {
        if (!Number.isInteger(size) || size < 1 || size > 1024) {
          return yield* Effect.fail(
            new ConfigError({ field: "instances", reason: `expected 1 to 1024, got ${size}` })
          )
        }
        if (pool.closed) return yield* Effect.fail(new PoolClosed())
        if (size > slots.length) {
          const added = yield* Effect.forEach(
            Array.from({ length: size - slots.length }, (_, i) => slots.length + i),
            makeSlot
          )
          slots.push(...added)
          yield* Effect.forEach(added, spawn, { discard: true })
        } else if (size < slots.length) {
          yield* retire(
            slots,
            size,
            router.dispatch,
            (slot) => slot.turn.withPermits(1)(Effect.void),
            (slot) =>
              FiberMap.remove(supervisors, slot.id).pipe(
                Effect.zipRight(stop(slot, "stopped").pipe(slot.lifecycle.withPermits(1)))
              )
          )
        }
        router.dispatch()
      }).pipe(sizing.withPermits(1))

    /**
     * `shutdown` lets turns in flight finish, up to the drain deadline, as the real pool does.
     * Closing the scope does not wait: under `TestClock` a turn that sleeps, and the drain
     * deadline itself, would never end, and the test would hang in its finalizer.
     */
    const shutdownWith = (drain: boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (pool.closed) return Deferred.await(shutdownDone)
        pool.closed = true
        return Effect.gen(function*() {
          if (drain) {
            yield* Effect.forEach(slots, (slot) => slot.turn.withPermits(1)(Effect.void), {
              concurrency: "unbounded",
              discard: true
            }).pipe(Effect.interruptible, Effect.timeoutOption(options.drain))
          }
          yield* FiberMap.clear(supervisors)
          yield* Effect.forEach(slots, (slot) => stop(slot, "stopped"), { discard: true })
          router.dispatch()
        }).pipe(
          Effect.ensuring(Deferred.succeed(shutdownDone, undefined)),
          Effect.uninterruptible,
          Effect.withSpan("toolpool.shutdown")
        )
      })
    const shutdown = shutdownWith(true)

    yield* Effect.addFinalizer(() => shutdownWith(false))
    yield* Effect.forEach(slots, spawn, { discard: true })

    return {
      options,
      send,
      read,
      request,
      submit,
      call,
      notifications: Stream.fromPubSub(notifications),
      subscribeNotifications: PubSub.subscribe(notifications),
      events: Stream.fromPubSub(events),
      withInstance,
      resize,
      status,
      health: Effect.map(status, countHealth),
      restart,
      shutdown
    }
  })
