/**
 * The pool: a fixed set of instance slots, each running one incarnation (process) at a time.
 * A slot keeps what outlives a process (id, counters, stderr tail); `instance.ts` owns the
 * process itself. Lifecycle changes of a slot (start, stop, restart) are serialised by its
 * `lifecycle` lock; turns on it by its `turn` lock, which hands it out in FIFO order.
 */
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import type { ExitInfo, InstanceStatus, State } from "../InstanceStatus.js"
import { health as countHealth } from "../InstanceStatus.js"
import type { PoolEvent } from "../PoolEvent.js"
import type { Input } from "../PoolOptions.js"
import { decode } from "../PoolOptions.js"
import { restartsAfter } from "../RestartPolicy.js"
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
import type { PoolBusy, SpawnError } from "../ToolPoolError.js"
import {
  ConfigError,
  IncompleteInput,
  InstanceNotRunning,
  PoolClosed,
  ResponseTooLarge,
  RpcError,
  TurnTimeout,
  UnknownInstance
} from "../ToolPoolError.js"
import { nextRestart, resetIfStable } from "./backoff.js"
import type { Deadline } from "./deadline.js"
import { bound, withDeadline } from "./deadline.js"
import type { Frame } from "./framing/frame.js"
import type { Host, Incarnation } from "./instance.js"
import * as Instance from "./instance.js"
import * as Metrics from "./metrics.js"
import { ByteRing } from "./ring.js"
import { makeRouter } from "./router.js"
import { signalProcess } from "./terminate.js"
import { TurnLock } from "./turnLock.js"

interface Slot {
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
  readonly lifecycle: Effect.Semaphore
  /** Steps the restart policy's schedule across the slot's restarts. */
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  /** Automatic restarts since the schedule was last reset. */
  attempts: number
  /** When the recent automatic restarts happened, for the intensity limit. */
  recentRestarts: Array<number>
  /** Turns completed by the current process (for `maxRequests`). */
  servedByCurrent: number
  /** Being removed by `resize`: no new turns. */
  retiring: boolean
  /** A replacement process is being started (`maxRequests`, `maxUptime`). */
  recycling: boolean
}

/** @internal */
export const make = (
  input: Input
): Effect.Effect<ToolPool, ConfigError | SpawnError, Scope.Scope | CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const options = yield* decode(input)
    const executor = yield* CommandExecutor.CommandExecutor
    const poolScope = yield* Effect.scope
    // Serialises resizes.
    const sizing = yield* Effect.makeSemaphore(1)
    let closed = false
    const shutdownDone = yield* Deferred.make<void>()

    const onExit = (slot: Slot, inc: Incarnation, exit: ExitInfo) =>
      Effect.sync(() => {
        slot.lastExit = exit
        if (slot.current !== inc || inc.stopping) return
        slot.state = "exited"
        slot.lastError = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`
        router.dispatch()
      }).pipe(
        Effect.zipRight(
          emit({
            _tag: "Exited",
            instance: slot.id,
            pid: inc.pid,
            code: exit.code,
            signal: exit.signal,
            expected: inc.stopping,
            at: exit.at
          })
        ),
        Effect.zipRight(
          Effect.suspend(() =>
            slot.current === inc && !inc.stopping && !closed && restartsAfter(options.restart, exit)
              ? FiberMap.run(supervisors, slot.id, supervise(slot, inc, exit), { onlyIfMissing: true }).pipe(
                Effect.asVoid
              )
              : Effect.void
          )
        ),
        Effect.zipRight(Effect.logDebug("instance exited")),
        Effect.annotateLogs({ instance: slot.id, pid: inc.pid, code: exit.code, signal: exit.signal })
      )

    const onReady = (slot: Slot, inc: Incarnation, error: SpawnError | undefined) =>
      Effect.suspend(() => {
        if (slot.current !== inc || inc.stopping) return Effect.void
        if (error === undefined) {
          if (slot.state === "starting") slot.state = "ready"
          router.dispatch()
          return emit({ _tag: "Ready", instance: slot.id, pid: inc.pid, at: new Date() }).pipe(
            Effect.zipRight(Effect.logDebug("instance ready"))
          ).pipe(Effect.annotateLogs({ instance: slot.id, pid: inc.pid }))
        }
        slot.state = "failed"
        slot.lastError = error.message
        router.dispatch()
        // It will never serve: take it down now rather than at shutdown.
        return Instance.stop(inc, options).pipe(slot.lifecycle.withPermits(1), Effect.forkDaemon, Effect.asVoid)
      })

    // Bounded: a subscriber that falls behind loses the oldest notifications, not the pool's memory.
    const notifications = yield* PubSub.sliding<Notification>(1024)
    const events = yield* PubSub.sliding<PoolEvent>(1024)
    const metrics = Metrics.forPool(options.name ?? options.command)
    const emit = (event: PoolEvent) =>
      Effect.suspend(() => {
        metrics.states(slots.map((slot) => slot.state))
        return PubSub.publish(events, event)
      })
    const countRestart = (slot: Slot) => {
      slot.restarts++
      metrics.restart()
    }
    /** Records a turn's outcome and latency in the pool's metrics. */
    const measured = <A, E extends { readonly _tag: string }, R>(turn: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const started = performance.now()
        return Effect.onExit(turn, (exit) =>
          Effect.sync(() => metrics.turn(Metrics.outcomeOf(exit), performance.now() - started)))
      })
    // One supervisor fiber per instance that is waiting to be restarted.
    const supervisors = yield* FiberMap.make<number>()

    /**
     * Restarts an instance that ended on its own, as the policy says: wait the schedule's delay,
     * spawn, wait until ready; a start that fails counts as another failure. Gives up when the
     * schedule is done or the intensity limit is passed: the instance is then `failed`.
     */
    const supervise = (slot: Slot, inc: Incarnation, exit: ExitInfo): Effect.Effect<void> =>
      Effect.gen(function*() {
        const policy = options.restart
        const now = yield* Clock.currentTimeMillis
        yield* resetIfStable(slot, policy, now - inc.startedAt.getTime())
        let failure: ExitInfo = exit
        while (true) {
          const beforeWait = Effect.sync(() => {
            slot.state = "backing-off"
            router.dispatch()
          })
          const decided = yield* nextRestart(slot, policy, failure, Clock.currentTimeMillis, beforeWait)
          if (decided._tag === "Left") return yield* giveUp(slot, decided.left)
          yield* emit({
            _tag: "Restarting",
            instance: slot.id,
            attempt: slot.attempts,
            delayMillis: Duration.toMillis(decided.right),
            reason: failure.signal ?? `code ${failure.code}`,
            at: new Date()
          })
          const next = yield* Effect.gen(function*() {
            if (closed) return undefined
            countRestart(slot)
            return yield* spawnInto(slot).pipe(Effect.option)
          }).pipe(slot.lifecycle.withPermits(1))
          if (next === undefined) return
          if (Option.isSome(next)) {
            const ready = yield* Effect.either(Deferred.await(next.value.ready))
            if (ready._tag === "Right") return
            failure = { code: ready.left.exitCode, signal: ready.left.signal, at: new Date() }
          } else {
            failure = { code: null, signal: null, at: new Date() }
          }
        }
      }).pipe(Effect.annotateLogs({ instance: slot.id }))

    const giveUp = (slot: Slot, reason: string) =>
      Effect.suspend(() => {
        slot.state = "failed"
        slot.lastError = `gave up restarting: ${reason}`
        router.dispatch()
        return emit({ _tag: "GaveUp", instance: slot.id, reason, at: new Date() }).pipe(
          Effect.zipRight(Effect.logWarning(`gave up restarting instance ${slot.id}: ${reason}`))
        )
      })

    const makeSlot = (id: number): Effect.Effect<Slot> =>
      Effect.map(Schedule.driver(Schedule.delays(options.restart.schedule)), (driver) => {
        const slot: Slot = {
          id,
          host: {
            id,
            options,
            executor,
            stderr: new ByteRing(options.stderrTailBytes),
            transcript: new ByteRing(options.transcriptBytes),
            onExit: (inc, exit) => onExit(slot, inc, exit),
            onReady: (inc, error) => onReady(slot, inc, error),
            onNotification: (_inc, method, params) => {
              notifications.unsafeOffer({ instance: id, method, params })
            }
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
          lifecycle: Effect.unsafeMakeSemaphore(1),
          driver,
          attempts: 0,
          recentRestarts: []
        }
        return slot
      })
    // Grows and shrinks with `resize`; ids stay dense: 0 .. slots.length - 1.
    const slots: Array<Slot> = yield* Effect.forEach(Array.from({ length: options.instances }, (_, id) => id), makeSlot)

    const router = makeRouter(slots, options.maxQueue, metrics.queue)

    const slotOf = (id: number): Effect.Effect<Slot, UnknownInstance | PoolClosed> =>
      Effect.suspend((): Effect.Effect<Slot, UnknownInstance | PoolClosed> => {
        if (closed) return Effect.fail(new PoolClosed())
        const slot = Number.isInteger(id) ? slots[id] : undefined
        return slot === undefined
          ? Effect.fail(new UnknownInstance({ instance: id, instances: slots.length }))
          : Effect.succeed(slot)
      })

    /** Spawns a new incarnation into the slot; the caller holds the lifecycle lock. */
    const spawnInto = (slot: Slot): Effect.Effect<Incarnation, SpawnError> =>
      Effect.suspend(() => {
        slot.state = "starting"
        return Instance.spawn(slot.host)
      }).pipe(
        Effect.tap((inc) =>
          Effect.sync(() => {
            slot.current = inc
            slot.servedByCurrent = 0
          }).pipe(Effect.zipRight(emit({ _tag: "Spawned", instance: slot.id, pid: inc.pid, at: inc.startedAt })))
        ),
        Effect.tapError((error) =>
          Effect.sync(() => {
            slot.state = "failed"
            slot.lastError = error.message
          })
        ),
        Effect.withSpan("toolpool.spawn", { attributes: { instance: slot.id, command: options.command } })
      )

    /** Stops the slot's process, if any; the caller holds the lifecycle lock. */
    const stopSlot = (slot: Slot, final: State): Effect.Effect<void> =>
      Effect.suspend(() => {
        const inc = slot.current
        if (inc === undefined) {
          slot.state = final
          return Effect.void
        }
        slot.state = "stopping"
        return Instance.stop(inc, options).pipe(
          Effect.ensuring(Effect.sync(() => {
            slot.state = final
          })),
          Effect.zipRight(emit({ _tag: "Stopped", instance: slot.id, at: new Date() }))
        )
      })

    /** The slot's live incarnation, once it is ready to serve. */
    const serving = (
      slot: Slot,
      deadline: Deadline<TurnTimeout> | undefined
    ): Effect.Effect<Incarnation, InstanceNotRunning | SpawnError | TurnTimeout> =>
      Effect.suspend((): Effect.Effect<Incarnation, InstanceNotRunning | SpawnError | TurnTimeout> => {
        const inc = slot.current
        if (inc !== undefined && (slot.state === "ready" || slot.state === "busy")) return Effect.succeed(inc)
        if (inc !== undefined && slot.state === "starting") {
          return Effect.as(bound(deadline, Deferred.await(inc.ready)), inc)
        }
        return Effect.fail(new InstanceNotRunning({ instance: slot.id, state: slot.state }))
      })

    const toResult = (slot: Slot, inc: Incarnation, frame: Frame): Effect.Effect<string, TurnError> => {
      switch (frame._tag) {
        case "Response":
          return Effect.succeed(frame.text)
        case "Continuation":
          // The tool waits for the rest of an open block; the turn ends unanswered, so it is
          // healed like any abandoned turn (interrupt, re-sync or restart).
          return Effect.fail(new IncompleteInput({ instance: slot.id, output: frame.text }))
        default:
          return Effect.fail(
            new ResponseTooLarge({ instance: slot.id, pid: inc.pid, limit: options.maxResponseBytes })
          )
      }
    }

    const notRunning = (slot: Slot) => (error: SpawnError | InstanceNotRunning | TurnTimeout) =>
      error._tag === "InstanceNotRunning" || error._tag === "TurnTimeout"
        ? error
        : new InstanceNotRunning({ instance: slot.id, state: slot.state })

    const inactivityOf = (turn: TurnOptions | undefined): Duration.Duration | undefined =>
      turn?.inactivityTimeout !== undefined ? Duration.decode(turn.inactivityTimeout) : options.inactivityTimeout

    /**
     * Runs a turn's `body` under its deadline (the turn's own timeout, else `turnTimeout`):
     * `body` passes the deadline to every wait of the turn (see `deadline.ts`).
     */
    const withTurnDeadline = <A, E>(
      slot: Slot,
      timeout: Duration.DurationInput | undefined,
      body: (deadline: Deadline<TurnTimeout> | undefined) => Effect.Effect<A, E>
    ): Effect.Effect<A, E | TurnTimeout> => {
      const duration = timeout === undefined ? options.turnTimeout : Duration.decode(timeout)
      return withDeadline(
        duration,
        () =>
          new TurnTimeout({ instance: slot.id, pid: slot.current?.pid ?? null, timeout: duration, kind: "deadline" }),
        body
      )
    }

    const send = (id: number, input: string): Effect.Effect<void, SendError> =>
      Effect.flatMap(slotOf(id), (slot): Effect.Effect<void, SendError> => {
        const inc = slot.current
        if (inc === undefined || !(slot.state === "ready" || slot.state === "busy" || slot.state === "starting")) {
          return Effect.fail(new InstanceNotRunning({ instance: id, state: slot.state }))
        }
        return Instance.write(inc, inc.codec.encode(input))
      })

    const read = (id: number, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        withTurnDeadline(slot, turn?.timeout, (deadline) =>
          slot.turn.withLock(
            Effect.gen(function*() {
              const inc = yield* serving(slot, deadline).pipe(Effect.mapError(notRunning(slot)))
              const frame = yield* Instance.takeFrame(inc, deadline)
              return yield* toResult(slot, inc, frame)
            }),
            deadline
          )))

    /**
     * One turn on the slot: its lock held, the input written, the response taken. A turn that
     * is abandoned after its input went out (timed out, interrupted) leaves the tool busy with
     * it: the lock then passes to `heal`, so nobody gets the instance before it is clean.
     */
    const turnOn = (
      slot: Slot,
      input: string,
      inactivity: Duration.Duration | undefined,
      deadline: Deadline<TurnTimeout> | undefined
    ): Effect.Effect<string, TurnError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          yield* restore(slot.turn.take(deadline))
          // What the turn got to: read after it ended, however it ended.
          const progress: { inc: Incarnation | undefined; sent: boolean; answered: boolean } = {
            inc: undefined,
            sent: false,
            answered: false
          }
          const result = yield* Effect.exit(restore(Effect.gen(function*() {
            const current = yield* serving(slot, deadline).pipe(Effect.mapError(notRunning(slot)))
            progress.inc = current
            // Output that came between turns is in the transcript; it is not this turn's answer.
            yield* Instance.discardUnread(current)
            // Answers still owed to callers who gave up must not reach this one.
            while (current.owed > 0) {
              yield* Instance.takeFrame(current, deadline)
              current.owed--
            }
            slot.state = "busy"
            if (current.codec.rpc !== undefined) {
              // A JSON-RPC turn: the input is {"method": ..., "params": ...}, the answer the result.
              const { method, params } = yield* parseCall(slot, input)
              const value = yield* Instance.call(slot.host, current, method, params, deadline)
              progress.answered = true
              slot.requests++
              slot.servedByCurrent++
              return JSON.stringify(value) ?? "null"
            }
            yield* Instance.write(current, current.codec.encode(input), deadline)
            progress.sent = true
            const frame = yield* (inactivity === undefined
              ? Instance.takeFrame(current, deadline)
              : Effect.raceFirst(Instance.takeFrame(current, deadline), silence(slot, current, inactivity)))
            // a continuation prompt is no answer: the tool still waits on this turn's input
            progress.answered = frame._tag !== "Continuation"
            slot.requests++
            slot.servedByCurrent++
            return yield* toResult(slot, current, frame)
          })))
          if (slot.state === "busy") slot.state = "ready"
          const { answered, inc, sent } = progress
          const abandoned = sent && !answered && inc !== undefined && inc.broken === undefined ? inc : undefined
          if (abandoned === undefined) {
            yield* slot.turn.release
          } else {
            abandoned.owed++
            slot.pending++
            yield* heal(slot, abandoned).pipe(
              Effect.ensuring(slot.turn.release.pipe(Effect.zipRight(release(slot)))),
              Effect.forkDaemon
            )
          }
          return yield* result
        })
      )

    /** Fails once the tool has written nothing for `inactivity` (the turn's start counts as output). */
    const silence = (slot: Slot, inc: Incarnation, inactivity: Duration.Duration): Effect.Effect<never, TurnTimeout> =>
      Effect.suspend(() => {
        const limit = Duration.toMillis(inactivity)
        const since = Date.now()
        const check: Effect.Effect<never, TurnTimeout> = Effect.suspend(() => {
          const quiet = Date.now() - Math.max(inc.lastOutputAt, since)
          return quiet >= limit
            ? Effect.fail(new TurnTimeout({ instance: slot.id, pid: inc.pid, timeout: inactivity, kind: "inactivity" }))
            : Effect.zipRight(Effect.sleep(Duration.millis(limit - quiet)), check)
        })
        return check
      })

    /**
     * Brings an instance back in sync after an abandoned turn: interrupt the tool, and wait up to
     * `healGrace` for the abandoned answer to come (the framing is then in sync again); if it does
     * not, restart the instance. Runs holding the instance's turn lock.
     */
    const heal = (slot: Slot, inc: Incarnation): Effect.Effect<void> =>
      Effect.gen(function*() {
        const { interrupt } = options
        if (interrupt === "SIGINT") yield* signalProcess(inc.pid, "SIGINT")
        else if (interrupt !== "none") yield* Effect.ignore(Instance.write(inc, inc.codec.encode(interrupt.input)))
        const synced = yield* Instance.within(
          options.healGrace,
          Effect.gen(function*() {
            while (inc.owed > 0) {
              yield* Instance.takeFrame(inc)
              inc.owed--
            }
          }).pipe(Effect.ignore)
        )
        if (synced || inc.broken !== undefined || closed || slot.current !== inc) return
        yield* Effect.logWarning(`instance ${slot.id} did not recover from an abandoned turn: restarting it`)
        yield* Effect.gen(function*() {
          if (closed || slot.current !== inc) return
          yield* stopSlot(slot, "stopped")
          countRestart(slot)
          const next = yield* spawnInto(slot)
          yield* Effect.ignore(Deferred.await(next.ready))
        }).pipe(slot.lifecycle.withPermits(1), Effect.ignore)
      }).pipe(Effect.annotateLogs({ instance: slot.id }))

    /** Ends a turn's claim on the slot and lets a waiting `submit` have it. */
    const release = (slot: Slot) =>
      Effect.suspend(() => {
        slot.pending--
        router.dispatch()
        return options.maxRequests !== undefined && slot.servedByCurrent >= options.maxRequests
          ? recycle(slot)
          : Effect.void
      })

    /**
     * Replaces an instance's process with a fresh one when it is idle (`maxRequests`,
     * `maxUptime`): the replacement is spawned and ready first, so capacity does not drop, then
     * takes over between two turns, and the old process is stopped.
     */
    const recycle = (slot: Slot): Effect.Effect<void> =>
      Effect.gen(function*() {
        const old = slot.current
        if (old === undefined || closed || slot.recycling) return
        slot.recycling = true
        const fresh = yield* Instance.spawn(slot.host).pipe(Effect.option)
        if (Option.isNone(fresh)) return
        const ready = yield* Effect.either(Deferred.await(fresh.value.ready))
        if (ready._tag === "Left" || closed) return yield* Instance.stop(fresh.value, options)
        yield* Effect.gen(function*() {
          if (slot.current !== old || closed) return yield* Instance.stop(fresh.value, options)
          old.stopping = true
          slot.current = fresh.value
          slot.servedByCurrent = 0
          if (slot.state === "ready" || slot.state === "busy") slot.state = "ready"
          yield* emit({ _tag: "Spawned", instance: slot.id, pid: fresh.value.pid, at: fresh.value.startedAt })
          router.dispatch()
        }).pipe((effect) => slot.turn.withLock(effect), slot.lifecycle.withPermits(1))
        yield* Instance.stop(old, options)
        yield* Effect.logDebug(`instance ${slot.id} recycled`)
      }).pipe(
        Effect.ensuring(Effect.sync(() => {
          slot.recycling = false
        })),
        Effect.forkIn(poolScope),
        Effect.asVoid
      )

    const request = (id: number, input: string, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        withTurnDeadline(slot, turn?.timeout, (deadline) =>
          Effect.sync(() => {
            slot.pending++
          }).pipe(
            Effect.zipRight(turnOn(slot, input, inactivityOf(turn), deadline)),
            Effect.ensuring(release(slot))
          )).pipe(
            whenTraced(Effect.withSpan("toolpool.turn", { attributes: { instance: id }, captureStackTrace: false })),
            measured
          ))

    const call = (
      id: number,
      method: string,
      params?: unknown,
      turn?: TurnOptions
    ): Effect.Effect<unknown, TurnError> =>
      Effect.flatMap(slotOf(id), (slot) =>
        withTurnDeadline(slot, turn?.timeout, (deadline) =>
          Effect.gen(function*() {
            const inc = yield* serving(slot, deadline).pipe(Effect.mapError(notRunning(slot)))
            if (inc.codec.rpc === undefined) {
              return yield* Effect.dieMessage("call needs a pool with Framing.jsonRpc; use request for other framings")
            }
            const result = yield* Instance.call(slot.host, inc, method, params, deadline)
            slot.requests++
            return result
          })).pipe(
            whenTraced(
              Effect.withSpan("toolpool.call", { attributes: { instance: id, method }, captureStackTrace: false })
            ),
            measured
          ))

    const submitOnce = (input: string, submit: SubmitOptions | undefined): Effect.Effect<Submitted, SubmitError> =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(new PoolClosed())
        const acquireTimeout = submit?.acquireTimeout === undefined
          ? options.acquireTimeout
          : Duration.decode(submit.acquireTimeout)
        return Effect.flatMap(
          router.acquire(submit?.key, acquireTimeout),
          (slot) =>
            withTurnDeadline(
              slot,
              submit?.timeout,
              (deadline) =>
                turnOn(slot, input, inactivityOf(submit), deadline).pipe(
                  Effect.map((output): Submitted => ({ instance: slot.id, output })),
                  Effect.ensuring(release(slot))
                )
            ).pipe(
              whenTraced(
                Effect.withSpan("toolpool.turn", { attributes: { instance: slot.id }, captureStackTrace: false })
              )
            )
        )
      }).pipe(measured)

    const submit = (input: string, submit?: SubmitOptions): Effect.Effect<Submitted, SubmitError> =>
      submit?.retry === undefined
        ? submitOnce(input, submit)
        : submitOnce(input, submit).pipe(
          Effect.retry({
            schedule: submit.retry,
            // only when the instance died under the turn: the input may not have been the cause
            while: (error) => error._tag === "InstanceExited" || error._tag === "WriteFailed"
          })
        )

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
            if (closed) return yield* Effect.fail(new PoolClosed())
            // a restart by hand replaces any automatic one under way
            yield* FiberMap.remove(supervisors, slot.id)
            yield* stopSlot(slot, "stopped")
            countRestart(slot)
            return yield* spawnInto(slot)
          }).pipe(slot.lifecycle.withPermits(1))
          yield* Deferred.await(inc.ready)
        }).pipe(Effect.annotateLogs({ instance: id })))

    const resize = (size: number): Effect.Effect<void, ConfigError | SpawnError | PoolClosed> =>
      Effect.gen(function*() {
        if (!Number.isInteger(size) || size < 1 || size > 1024) {
          return yield* Effect.fail(new ConfigError({ field: "instances", reason: `expected 1 to 1024, got ${size}` }))
        }
        if (closed) return yield* Effect.fail(new PoolClosed())
        if (size > slots.length) {
          const added = yield* Effect.forEach(
            Array.from({ length: size - slots.length }, (_, i) => slots.length + i),
            makeSlot
          )
          slots.push(...added)
          yield* Effect.forEach(
            added,
            (slot) =>
              spawnInto(slot).pipe(slot.lifecycle.withPermits(1), Effect.flatMap((inc) => Deferred.await(inc.ready))),
            { concurrency: "unbounded", discard: true }
          )
        } else if (size < slots.length) {
          // The highest ids go. They take no new turns; those in flight finish first.
          const leaving = slots.slice(size)
          for (const slot of leaving) slot.retiring = true
          router.dispatch()
          yield* Effect.forEach(
            leaving,
            (slot) =>
              Effect.gen(function*() {
                yield* slot.turn.withLock(Effect.void)
                yield* FiberMap.remove(supervisors, slot.id)
                yield* stopSlot(slot, "stopped").pipe(slot.lifecycle.withPermits(1))
              }),
            { concurrency: "unbounded", discard: true }
          )
          slots.length = size
        }
        router.dispatch()
        yield* Effect.logDebug(`pool resized to ${size}`)
      }).pipe(sizing.withPermits(1))

    const withInstance = <A, E, R>(
      use: (lease: Lease) => Effect.Effect<A, E, R>,
      lease?: { readonly key?: string | undefined; readonly acquireTimeout?: Duration.DurationInput | undefined }
    ): Effect.Effect<A, E | PoolBusy | PoolClosed, R> =>
      Effect.acquireUseRelease(
        Effect.suspend((): Effect.Effect<Slot, PoolBusy | PoolClosed> =>
          closed
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

    /** Probes every idle ready instance on the schedule; one that fails its probe is restarted. */
    const probeAll = (check: NonNullable<typeof options.healthCheck>): Effect.Effect<void> => {
      const expect = check.expect === undefined ? undefined : new RegExp(check.expect)
      const probe = (slot: Slot) =>
        Effect.gen(function*() {
          if (slot.state !== "ready" || slot.pending > 0 || slot.retiring || closed) return
          const inc = slot.current
          const outcome = yield* Effect.either(request(slot.id, check.input, { timeout: check.timeout }))
          const healthy = outcome._tag === "Right" && (expect === undefined || expect.test(outcome.right))
          if (healthy || closed || slot.current !== inc || inc === undefined) return
          yield* Effect.logWarning(`instance ${slot.id} failed its health probe: restarting it`)
          yield* Effect.gen(function*() {
            if (closed || slot.current !== inc) return
            yield* stopSlot(slot, "stopped")
            countRestart(slot)
            yield* spawnInto(slot).pipe(Effect.flatMap((next) => Deferred.await(next.ready)))
          }).pipe(slot.lifecycle.withPermits(1), Effect.ignore)
        })
      return Effect.forEach(slots.slice(), probe, { concurrency: "unbounded", discard: true })
    }

    /** Recycles instances that have been up longer than `maxUptime`, when idle. */
    const recycleOld = (maxUptime: Duration.Duration): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.forEach(
          slots.filter((slot) =>
            slot.current !== undefined && slot.state === "ready" && slot.pending === 0 &&
            now - slot.current.startedAt.getTime() >= Duration.toMillis(maxUptime)
          ),
          recycle,
          { discard: true }
        ))

    const stopAll: Effect.Effect<void> = Effect.gen(function*() {
      // Let turns in flight finish, up to the drain deadline.
      yield* Instance.within(
        options.drain,
        Effect.forEach(slots, (slot) => slot.turn.withLock(Effect.void), {
          concurrency: "unbounded",
          discard: true
        })
      )
      yield* FiberMap.clear(supervisors)
      yield* Effect.forEach(slots, (slot) => stopSlot(slot, "stopped").pipe(slot.lifecycle.withPermits(1)), {
        concurrency: "unbounded",
        discard: true
      })
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
      if (closed) return Effect.void
      closed = true
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
      yield* probeAll(check).pipe(Effect.repeat(Schedule.spaced(check.every)), Effect.forkIn(poolScope))
    }
    if (options.maxUptime !== undefined) {
      const maxUptime = options.maxUptime
      const every = Duration.min(Duration.millis(Duration.toMillis(maxUptime) / 4), Duration.seconds(5))
      yield* recycleOld(maxUptime).pipe(Effect.repeat(Schedule.spaced(every)), Effect.forkIn(poolScope))
    }

    return {
      options,
      resize,
      withInstance,
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

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * Applies `span` (an `Effect.withSpan`) to a turn only when spans go somewhere. Under Effect's
 * default tracer a span is recorded nowhere, yet making one and providing it to the turn as the
 * parent of what runs inside costs about 25 us of CPU: a quarter of what the pool adds to a turn.
 */
const whenTraced =
  <A, E, R>(span: (turn: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
  (turn: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) => tracer === nativeTracer ? turn : span(turn))

const parseCall = (
  slot: { readonly id: number },
  input: string
): Effect.Effect<{ readonly method: string; readonly params: unknown }, RpcError> =>
  Effect.suspend(() => {
    try {
      const message: unknown = JSON.parse(input)
      if (
        typeof message === "object" && message !== null && "method" in message && typeof message.method === "string"
      ) {
        return Effect.succeed({ method: message.method, params: "params" in message ? message.params : undefined })
      }
    } catch {
      // reported below
    }
    return Effect.fail(
      new RpcError({
        instance: slot.id,
        method: "",
        code: -32600,
        detail: `a turn on a JSON-RPC pool takes {"method": ..., "params": ...}, got ${input.slice(0, 100)}`,
        data: undefined
      })
    )
  })
