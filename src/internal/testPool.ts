/**
 * A pool without processes, for users' tests: the same service, the same routing (the real
 * router), the same states, counters, events and errors, with answers from a function or a
 * script instead of a tool.
 *
 * It updates the same metrics as the real pool, tagged with its `name` (else `"toolpool-test"`).
 *
 * An instance here is an incarnation counter and two queues: what `send` wrote, and the answers
 * not yet `read`. A turn runs the user's `respond`; an `InstanceExited` from it ends the
 * incarnation as a crash would, and the restart policy takes over as in the real pool.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ExitInfo, InstanceStatus, State } from "../InstanceStatus.js"
import { health as countHealth } from "../InstanceStatus.js"
import type { PoolEvent } from "../PoolEvent.js"
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
import type { InstanceExited, PoolBusy } from "../ToolPoolError.js"
import { ConfigError, InstanceNotRunning, PoolClosed, TurnTimeout, UnknownInstance } from "../ToolPoolError.js"
import type { Options, Reply, Turn } from "../ToolPoolTest.js"
import { nextRestart, resetIfStable } from "./backoff.js"
import * as Metrics from "./metrics.js"
import { makeRouter } from "./router.js"

/** Fake pids start above any real one (Linux's largest is 2^22), so that a signal reaches nobody. */
let nextPid = 10_000_000

interface Incarnation {
  readonly pid: number
  readonly startedAt: number
  /** Inputs written by `send`, answered in order by the instance's feeder. */
  readonly stdin: Queue.Queue<string>
  /** Answers nobody has read yet. */
  readonly responses: Queue.Queue<Exit.Exit<string, TurnError>>
}

interface Slot {
  readonly id: number
  state: State
  pending: number
  retiring: boolean
  current: Incarnation | undefined
  requests: number
  restarts: number
  lastExit: ExitInfo | null
  lastError: string | null
  readonly turn: Effect.Semaphore
  readonly lifecycle: Effect.Semaphore
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  attempts: number
  recentRestarts: Array<number>
}

const isAlive = (slot: Slot) => slot.state === "ready" || slot.state === "busy" || slot.state === "starting"

/** Answers from a script: each input's replies in order, its last one repeated. */
const scripted = (script: NonNullable<Options["script"]>) => {
  const entries: Iterable<readonly [string, Reply]> = Symbol.iterator in script
    ? script as Iterable<readonly [string, Reply]>
    : Object.entries(script)
  const replies = new Map<string, Array<Reply>>()
  for (const [input, reply] of entries) replies.set(input, [...(replies.get(input) ?? []), reply])
  return (input: string): Reply | undefined => {
    const queue = replies.get(input)
    if (queue === undefined) return undefined
    return queue.length > 1 ? queue.shift() : queue[0]
  }
}

const toEffect = <A>(value: A | Effect.Effect<A, TurnError>): Effect.Effect<A, TurnError> =>
  Effect.isEffect(value) ? value : Effect.succeed(value)

/** @internal */
export const make = (testOptions: Options = {}): Effect.Effect<ToolPool, ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { call: callHandler, latency, respond, script, ...input } = testOptions
    const options = yield* decode({ command: "toolpool-test", ...input })
    const poolScope = yield* Effect.scope
    const sizing = yield* Effect.makeSemaphore(1)
    const shutdownDone = yield* Deferred.make<void>()
    let closed = false
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
    const countRestart = (slot: Slot) => {
      slot.restarts++
      metrics.restart()
    }
    const measured = <A, E extends { readonly _tag: string }, R>(turn: Effect.Effect<A, E, R>) =>
      Effect.flatMap(
        now,
        (started) =>
          Effect.onExit(turn, (exit) =>
            Effect.flatMap(now, (ended) =>
              Effect.sync(() => metrics.turn(Metrics.outcomeOf(exit), ended - started))))
      )
    const supervisors = yield* FiberMap.make<number>()

    const fromScript = script === undefined ? undefined : scripted(script)
    const answer = (slot: Slot, inc: Incarnation, text: string): Effect.Effect<string, TurnError> =>
      Effect.suspend(() => {
        const turn: Turn = {
          pid: inc.pid,
          notify: (method, params) => PubSub.publish(notifications, { instance: slot.id, method, params })
        }
        const reply = fromScript?.(text)
        const outcome = reply !== undefined
          ? (typeof reply === "string" ? Effect.succeed(reply) : Effect.fail(reply))
          : respond !== undefined
          ? toEffect(respond(text, slot.id, turn))
          : fromScript !== undefined
          ? Effect.dieMessage(`ToolPoolTest: the script has no reply to ${JSON.stringify(text)}`)
          : Effect.succeed(text)
        const delayed = latency === undefined ? outcome : Effect.zipRight(Effect.sleep(latency), outcome)
        // An exit reported by the answer ends the incarnation, as a crash of the tool would.
        return Effect.tapError(
          delayed,
          (error) => error._tag === "InstanceExited" ? crash(slot, inc, error) : Effect.void
        )
      })

    const spawn = (slot: Slot): Effect.Effect<Incarnation> =>
      Effect.gen(function*() {
        const inc: Incarnation = {
          pid: nextPid++,
          startedAt: yield* now,
          stdin: yield* Queue.bounded<string>(options.stdinQueue),
          responses: yield* Queue.bounded<Exit.Exit<string, TurnError>>(options.responseQueue)
        }
        slot.current = inc
        slot.state = "ready"
        // The feeder answers what `send` wrote, in order; it goes with the incarnation.
        yield* Queue.take(inc.stdin).pipe(
          Effect.flatMap((text) => Effect.exit(answer(slot, inc, text))),
          Effect.flatMap((exit) => Queue.offer(inc.responses, exit)),
          Effect.forever,
          Effect.interruptible,
          Effect.forkIn(poolScope)
        )
        yield* emit({ _tag: "Spawned", instance: slot.id, pid: inc.pid, at: yield* at })
        yield* emit({ _tag: "Ready", instance: slot.id, pid: inc.pid, at: yield* at })
        router.dispatch()
        return inc
      })

    /** Ends the incarnation at the pool's request: an expected exit, then `Stopped`. */
    const stop = (slot: Slot, final: State): Effect.Effect<void> =>
      Effect.gen(function*() {
        const inc = slot.current
        slot.current = undefined
        if (inc !== undefined && isAlive(slot)) {
          const exit: ExitInfo = { code: 0, signal: null, at: yield* at }
          slot.lastExit = exit
          yield* Queue.shutdown(inc.stdin)
          yield* emit({
            _tag: "Exited",
            instance: slot.id,
            pid: inc.pid,
            code: 0,
            signal: null,
            expected: true,
            at: exit.at
          })
          slot.state = final
          yield* emit({ _tag: "Stopped", instance: slot.id, at: yield* at })
        } else {
          slot.state = final
        }
        router.dispatch()
      })

    const crash = (slot: Slot, inc: Incarnation, error: InstanceExited): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (slot.current !== inc) return
        const exit: ExitInfo = { code: error.exitCode, signal: error.signal, at: yield* at }
        slot.current = undefined
        slot.lastExit = exit
        slot.state = "exited"
        slot.lastError = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`
        router.dispatch()
        yield* Queue.shutdown(inc.stdin)
        yield* emit({
          _tag: "Exited",
          instance: slot.id,
          pid: inc.pid,
          code: exit.code,
          signal: exit.signal,
          expected: false,
          at: exit.at
        })
        if (!closed && restartsAfter(options.restart, exit)) {
          yield* FiberMap.run(supervisors, slot.id, supervise(slot, inc, exit), { onlyIfMissing: true })
        }
      })

    /** The restart policy at work, as in the real pool: delays, intensity, reset, giving up. */
    const supervise = (slot: Slot, inc: Incarnation, exit: ExitInfo): Effect.Effect<void> =>
      Effect.gen(function*() {
        const policy = options.restart
        yield* resetIfStable(slot, policy, (yield* now) - inc.startedAt)
        const beforeWait = Effect.sync(() => {
          slot.state = "backing-off"
          router.dispatch()
        })
        const decided = yield* nextRestart(slot, policy, exit, now, beforeWait)
        if (decided._tag === "Left") return yield* giveUp(slot, decided.left)
        yield* emit({
          _tag: "Restarting",
          instance: slot.id,
          attempt: slot.attempts,
          delayMillis: Duration.toMillis(decided.right),
          reason: exit.signal ?? `code ${exit.code}`,
          at: yield* at
        })
        yield* Effect.gen(function*() {
          if (closed || slot.state !== "backing-off") return
          countRestart(slot)
          yield* spawn(slot)
        }).pipe(slot.lifecycle.withPermits(1))
      })

    const giveUp = (slot: Slot, reason: string) =>
      Effect.gen(function*() {
        slot.state = "failed"
        slot.lastError = `gave up restarting: ${reason}`
        router.dispatch()
        yield* emit({ _tag: "GaveUp", instance: slot.id, reason, at: yield* at })
      })

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

    const slotOf = (id: number): Effect.Effect<Slot, UnknownInstance | PoolClosed> =>
      Effect.suspend((): Effect.Effect<Slot, UnknownInstance | PoolClosed> => {
        if (closed) return Effect.fail(new PoolClosed())
        const slot = Number.isInteger(id) ? slots[id] : undefined
        return slot === undefined
          ? Effect.fail(new UnknownInstance({ instance: id, instances: slots.length }))
          : Effect.succeed(slot)
      })

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
        closed
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
      Effect.acquireUseRelease(
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
          if (closed) return yield* Effect.fail(new PoolClosed())
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
        if (closed) return yield* Effect.fail(new PoolClosed())
        if (size > slots.length) {
          const added = yield* Effect.forEach(
            Array.from({ length: size - slots.length }, (_, i) => slots.length + i),
            makeSlot
          )
          slots.push(...added)
          yield* Effect.forEach(added, spawn, { discard: true })
        } else if (size < slots.length) {
          const leaving = slots.slice(size)
          for (const slot of leaving) slot.retiring = true
          router.dispatch()
          yield* Effect.forEach(
            leaving,
            (slot) =>
              Effect.gen(function*() {
                yield* slot.turn.withPermits(1)(Effect.void)
                yield* FiberMap.remove(supervisors, slot.id)
                yield* stop(slot, "stopped").pipe(slot.lifecycle.withPermits(1))
              }),
            { concurrency: "unbounded", discard: true }
          )
          slots.length = size
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
        if (closed) return Deferred.await(shutdownDone)
        closed = true
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
