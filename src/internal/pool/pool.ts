/**
 * The pool: a set of instance slots (`slot.ts`), each running one incarnation (process) at a
 * time. This file wires the parts together and holds what acts on the pool as a whole: start,
 * `resize`, `restart` by hand, `withInstance`, `status` and `shutdown`. Supervision of each
 * instance is in `supervisor.ts`, the turns in `turn/turns.ts`.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { InstanceStatus } from "../../InstanceStatus.js"
import { health as countHealth } from "../../InstanceStatus.js"
import type { PoolEvent } from "../../PoolEvent.js"
import type { Input } from "../../PoolOptions.js"
import { decode } from "../../PoolOptions.js"
import { restartsAfter } from "../../RestartPolicy.js"
import type { Lease, Notification, RestartError, ToolPool } from "../../ToolPool.js"
import type { PoolBusy, PoolUnavailable, SpawnError } from "../../ToolPoolError.js"
import { ConfigError, PoolClosed, UnknownInstance } from "../../ToolPoolError.js"
import * as Transport from "../../Transport.js"
import { Outputs } from "../output/outputs.js"
import { ByteRing } from "../output/ring.js"
import { Lifeline } from "../process/lifeline.js"
import { Alarm } from "../turn/alarm.js"
import { leaseScoped, makeStreams } from "../turn/streams.js"
import { TurnLock } from "../turn/turnLock.js"
import { makeTurns } from "../turn/turns.js"
import { coolDownDriver, restartDriver } from "./backoff.js"
import * as Instance from "./instance.js"
import * as Metrics from "./metrics.js"
import type { Outlook } from "./router.js"
import { lookup, makeRouter, retire, useReserved } from "./router.js"
import type { PoolCore, Slot } from "./slot.js"
import { makeSupervisor } from "./supervisor.js"
import { makeUpkeep } from "./upkeep.js"

/** @internal */
export const make = (
  input: Input
): Effect.Effect<ToolPool, ConfigError | SpawnError, Scope.Scope> =>
  Effect.gen(function*() {
    const options = yield* decode(input)
    const transport = options.transport ?? (yield* Transport.Current)
    const clock = yield* Effect.clock
    const outputs = new Outputs()
    const poolScope = yield* Effect.scope
    // Serialises resizes.
    const sizing = yield* Effect.makeSemaphore(1)
    const shutdownDone = yield* Deferred.make<void>()

    // Bounded: a subscriber that falls behind loses the oldest notifications, not the pool's memory.
    const notifications = yield* PubSub.sliding<Notification>(1024)
    const events = yield* PubSub.sliding<PoolEvent>(1024)
    const metrics = Metrics.forPool(options.name ?? options.command)
    const emit = (event: PoolEvent) =>
      Effect.suspend(() => {
        metrics.states(slots.map((slot) => slot.state))
        return PubSub.publish(events, event)
      })
    // Grows and shrinks with `resize`; ids stay dense: 0 .. slots.length - 1. Filled below, once
    // the supervisor that the slots report to exists; the router reads it only when it routes.
    const slots: Array<Slot> = []
    const router = makeRouter(slots, options.maxQueue, metrics.queue, outlook, () => clock.unsafeCurrentTimeMillis())

    /** When a slot that cannot serve now may serve again, for the router's fail-fast. */
    function outlook(slot: Slot): Outlook {
      switch (slot.state) {
        case "cooling-down":
          return slot.nextAttemptAt ?? "soon"
        case "failed":
        case "stopped":
          return "never"
        case "exited":
          // restarted unless the policy says not
          return slot.lastExit !== null && !restartsAfter(options.restart, slot.lastExit) ? "never" : "soon"
        default:
          return "soon"
      }
    }

    const slotOf = (id: number): Effect.Effect<Slot, UnknownInstance | PoolClosed> =>
      lookup(slots, () => pool.closed, id)

    const runtime = yield* Effect.runtime<never>()
    const background = yield* FiberSet.make()
    const live = new Set<Instance.Incarnation>()
    // Started with the first local tool; closed after the shutdown (finalizers run in reverse).
    const lifeline = new Lifeline()
    yield* Effect.addFinalizer(() => Effect.sync(() => lifeline.close()))
    const pool: PoolCore = {
      options,
      slots,
      router,
      metrics,
      scope: poolScope,
      background,
      live,
      runtime,
      emit,
      slotOf,
      closed: false
    }
    const supervisor = yield* makeSupervisor(pool)
    const { countRestart, spawnInto, stopSlot, supervisors } = supervisor
    const { probeAll, recycleLarge, recycleOld } = makeUpkeep(pool, supervisor)
    const { call, notify, read, release, request, send, submit } = makeTurns(pool, supervisor)

    const makeSlot = (id: number): Effect.Effect<Slot> =>
      Effect.map(
        Effect.all([
          restartDriver(options.restart),
          coolDownDriver(options.restart)
        ]),
        ([driver, coolDowns]) => {
          const slot: Slot = {
            id,
            host: {
              id,
              options,
              transport,
              clock,
              onOutput: (stream, bytes) => outputs.publish(id, stream, bytes),
              stderr: new ByteRing(options.stderrTailBytes),
              transcript: new ByteRing(options.transcriptBytes),
              onBroken: (inc, reason) => supervisor.onBroken(slot, inc, reason),
              onExit: (inc, exit) => supervisor.onExit(slot, inc, exit),
              onReady: (inc, error) => supervisor.onReady(slot, inc, error),
              onNotification: (_inc, method, params) => {
                notifications.unsafeOffer({ instance: id, method, params })
              },
              live,
              lifeline
            },
            state: "starting",
            pending: 0,
            retiring: false,
            recycling: false,
            current: undefined,
            requests: 0,
            servedByCurrent: 0,
            restarts: 0,
            lastExit: null,
            lastError: null,
            turn: new TurnLock(),
            alarm: new Alarm(),
            lifecycle: Effect.unsafeMakeSemaphore(1),
            driver,
            attempts: 0,
            recentRestarts: [],
            coolDowns,
            trips: 0,
            nextAttemptAt: undefined,
            requestsAtRearm: 0,
            selfRestarts: 0
          }
          return slot
        }
      )
    slots.push(...yield* Effect.forEach(Array.from({ length: options.instances }, (_, id) => id), makeSlot))

    const status: Effect.Effect<ReadonlyArray<InstanceStatus>> = Effect.map(
      Clock.currentTimeMillis,
      (now) =>
        slots.map((slot): InstanceStatus => {
          const inc = slot.current
          const alive = inc !== undefined && (slot.state === "ready" || slot.state === "busy" ||
            slot.state === "starting" || slot.state === "stopping")
          return {
            id: slot.id,
            pid: alive ? inc.pid : null,
            state: slot.state,
            startedAt: alive ? inc.startedAt : null,
            uptimeMillis: alive ? Math.max(0, now - inc.startedAt.getTime()) : 0,
            requests: slot.requests,
            restarts: slot.restarts,
            selfRestarts: slot.selfRestarts,
            ...((slot.state === "cooling-down" || slot.state === "backing-off") && slot.nextAttemptAt !== undefined
              ? { nextAttemptAt: new Date(slot.nextAttemptAt) }
              : {}),
            lastExit: slot.lastExit,
            lastError: slot.lastError,
            stderrTail: slot.host.stderr.text()
          }
        })
    )

    const restart = (id: number): Effect.Effect<void, RestartError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        Effect.gen(function*() {
          const inc = yield* Effect.gen(function*() {
            if (pool.closed) return yield* Effect.fail(new PoolClosed())
            // removed by a resize meanwhile
            if (slot.retiring || slots[slot.id] !== slot) {
              return yield* Effect.fail(new UnknownInstance({ instance: id, instances: slots.length }))
            }
            // a restart by hand replaces any automatic one under way
            yield* FiberMap.remove(supervisors, slot.id)
            yield* stopSlot(slot, "stopped")
            // the pool may have closed during the stop: then nothing new starts
            if (pool.closed) return yield* Effect.fail(new PoolClosed())
            countRestart(slot)
            return yield* spawnInto(slot)
            // Once begun, the stop and the new spawn happen together: a caller who gives up
            // (only the wait for the lock, and for readiness, can be cut short) does not leave
            // the instance stopped for good.
          }).pipe(Effect.uninterruptible, slot.lifecycle.withPermits(1))
          yield* Deferred.await(inc.ready)
        }).pipe(Effect.annotateLogs({ instance: id })))

    const resize = (size: number): Effect.Effect<void, ConfigError | SpawnError | PoolClosed> =>
      Effect.gen(function*() {
        if (!Number.isInteger(size) || size < 1 || size > 1024) {
          return yield* Effect.fail(new ConfigError({ field: "instances", reason: `expected 1 to 1024, got ${size}` }))
        }
        if (pool.closed) return yield* Effect.fail(new PoolClosed())
        if (size > slots.length) {
          const added = yield* Effect.forEach(
            Array.from({ length: size - slots.length }, (_, i) => slots.length + i),
            makeSlot
          )
          slots.push(...added)
          yield* Effect.forEach(
            added,
            (slot) =>
              Effect.suspend((): Effect.Effect<Instance.Incarnation, SpawnError | PoolClosed> =>
                pool.closed ? Effect.fail(new PoolClosed()) : spawnInto(slot)
              ).pipe(
                slot.lifecycle.withPermits(1),
                Effect.flatMap((inc) => Deferred.await(inc.ready))
              ),
            { concurrency: "unbounded", discard: true }
          )
        } else if (size < slots.length) {
          // The highest ids go. They take no new turns; those in flight finish first. A caller
          // who gives up while they finish leaves the pool as it was; once they have, the
          // instances are stopped and removed without interruption (within grace + killAfter).
          yield* retire(
            slots,
            size,
            router.dispatch,
            (slot) => slot.turn.withLock(Effect.void),
            (slot) =>
              FiberMap.remove(supervisors, slot.id).pipe(
                Effect.zipRight(stopSlot(slot, "stopped").pipe(slot.lifecycle.withPermits(1)))
              )
          )
        }
        router.dispatch()
        yield* Effect.logDebug(`pool resized to ${size}`)
      }).pipe(sizing.withPermits(1))

    const withInstance = <A, E, R>(
      use: (lease: Lease) => Effect.Effect<A, E, R>,
      lease?: { readonly key?: string | undefined; readonly acquireTimeout?: Duration.DurationInput | undefined }
    ): Effect.Effect<A, E | PoolBusy | PoolUnavailable | PoolClosed, R> =>
      useReserved(
        Effect.suspend((): Effect.Effect<Slot, PoolBusy | PoolUnavailable | PoolClosed> =>
          pool.closed
            ? Effect.fail(new PoolClosed())
            : router.acquire(
              lease?.key,
              lease?.acquireTimeout === undefined ? options.acquireTimeout : Duration.decode(lease.acquireTimeout)
            )
        ),
        (slot) =>
          use({
            instance: slot.id,
            request: (input, turn) => request(slot.id, input, turn),
            send: (input) => send(slot.id, input),
            read: (turn) => read(slot.id, turn)
          }),
        release
      )

    const stopAll: Effect.Effect<void> = Effect.gen(function*() {
      // Let turns in flight finish, up to the drain deadline.
      yield* Instance.within(
        options.drain,
        Effect.forEach(slots, (slot) => slot.turn.withLock(Effect.void), {
          concurrency: "unbounded",
          discard: true
        })
      )
      // Recycling, healing, probes and restarts waiting to happen are interrupted, without
      // waiting for them: one of them may be stopping a process, which it finishes meanwhile.
      const cancelled = yield* Effect.fork(
        Effect.all([FiberSet.clear(background), FiberMap.clear(supervisors)], { concurrency: "unbounded" })
      )
      // Every process at once, whoever holds it: a slot, or nobody (a replacement whose
      // recycling was cut short, say). A process already being stopped is waited for, not
      // stopped twice, so the bound stays one grace + killAfter.
      const stopLive = Effect.suspend(() =>
        Effect.forEach([...live], (inc) => Instance.stop(inc, options), { concurrency: "unbounded", discard: true })
      )
      yield* Effect.all([
        Effect.forEach(slots, (slot) => stopSlot(slot, "stopped").pipe(slot.lifecycle.withPermits(1)), {
          concurrency: "unbounded",
          discard: true
        }),
        stopLive
      ], { concurrency: "unbounded", discard: true })
      yield* Fiber.join(cancelled)
      // A spawn that was already under way when the pool closed.
      yield* stopLive
      yield* outputs.end()
      yield* Effect.logDebug("pool shut down")
      router.dispatch()
    }).pipe(
      Effect.ensuring(Deferred.succeed(shutdownDone, undefined)),
      Effect.withSpan("toolpool.shutdown")
    )

    /**
     * The first call starts the shutdown in a fiber of its own, which no caller can interrupt
     * halfway; every call waits for it to finish (a waiting caller can be interrupted).
     */
    const shutdown: Effect.Effect<void> = Effect.uninterruptible(Effect.suspend(() => {
      if (pool.closed) return Effect.void
      pool.closed = true
      return Effect.asVoid(Effect.forkDaemon(stopAll))
    })).pipe(Effect.zipRight(Deferred.await(shutdownDone)))

    yield* Effect.addFinalizer(() => shutdown)

    yield* Effect.forEach(
      slots,
      (slot) =>
        spawnInto(slot).pipe(
          slot.lifecycle.withPermits(1),
          Effect.flatMap((inc) => Deferred.await(inc.ready))
        ),
      { concurrency: "unbounded", discard: true }
    ).pipe(
      // a pool that could not start stops what did start now, not when its scope closes
      Effect.onError(() => shutdown)
    )

    if (options.healthCheck !== undefined) {
      const check = options.healthCheck
      yield* probeAll(check, request).pipe(Effect.repeat(Schedule.spaced(check.every)), FiberSet.run(background))
    }
    if (options.maxMemory !== undefined) {
      const maxMemory = options.maxMemory
      yield* recycleLarge(maxMemory).pipe(
        Effect.repeat(Schedule.spaced("1 second")),
        FiberSet.run(background)
      )
    }
    if (options.maxUptime !== undefined) {
      const maxUptime = options.maxUptime
      const every = Duration.min(Duration.millis(Duration.toMillis(maxUptime) / 4), Duration.seconds(5))
      yield* recycleOld(maxUptime).pipe(Effect.repeat(Schedule.spaced(every)), FiberSet.run(background))
    }

    const streams = makeStreams({
      framing: options.framing,
      outputs,
      request,
      call,
      subscribeNotifications: PubSub.subscribe(notifications),
      lease: (leaseOptions) => leaseScoped(withInstance, leaseOptions)
    })

    return {
      options,
      resize,
      withInstance,
      ...streams,
      notify,
      output: (id: number) => outputs.stream(id, "stdout"),
      stderr: (id: number) => outputs.stream(id, "stderr"),
      send,
      read,
      request,
      submit,
      call,
      notifications: Stream.fromPubSub(notifications),
      subscribeNotifications: PubSub.subscribe(notifications),
      events: Stream.fromPubSub(events),
      status,
      health: Effect.map(status, countHealth),
      restart,
      shutdown
    }
  }).pipe(Effect.annotateLogs({ pool: input.name ?? input.command }))
