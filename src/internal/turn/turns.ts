/**
 * Turns: `send`, `read`, `request`, `call` and `submit` on an instance, each holding the
 * instance's turn lock (`turnLock.ts`) under its deadline (`deadline.ts`), in a span when a
 * tracer records spans, its outcome and latency counted in the pool's metrics. A turn abandoned
 * after its input went out is handed to the supervisor to heal.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Runtime from "effect/Runtime"
import * as Tracer from "effect/Tracer"
import type { SendError, SubmitError, SubmitOptions, Submitted, TurnError, TurnOptions } from "../../ToolPool.js"
import type { SpawnError } from "../../ToolPoolError.js"
import { InstanceNotRunning, PoolClosed, ResponseTooLarge, RpcError, TurnTimeout } from "../../ToolPoolError.js"
import type { Incarnation } from "../pool/instance.js"
import * as Instance from "../pool/instance.js"
import * as Metrics from "../pool/metrics.js"
import { useReserved } from "../pool/router.js"
import type { PoolCore, Slot } from "../pool/slot.js"
import type { Supervisor } from "../pool/supervisor.js"
import type { Input } from "../process/stdin.js"
import type { Deadline } from "./deadline.js"
import { bound, liveClock, withDeadline } from "./deadline.js"
import type { ExchangeHooks } from "./exchange.js"
import { asText, exchange, resultOf } from "./exchange.js"

/** @internal */
export interface Turns {
  readonly send: (id: number, input: string) => Effect.Effect<void, SendError>
  readonly notify: (id: number, method: string, params?: unknown) => Effect.Effect<void, SendError>
  readonly read: (id: number, turn?: TurnOptions) => Effect.Effect<string, TurnError>
  readonly request: (id: number, input: string, turn?: TurnOptions) => Effect.Effect<string, TurnError>
  readonly call: (id: number, method: string, params?: unknown, turn?: TurnOptions) => Effect.Effect<unknown, TurnError>
  readonly submit: (input: string, submit?: SubmitOptions) => Effect.Effect<Submitted, SubmitError>
  /** Ends a turn's claim on the slot and lets a waiting `submit` have it. */
  readonly release: (slot: Slot) => Effect.Effect<void>
}

/** @internal */
export const makeTurns = (pool: PoolCore, supervisor: Pick<Supervisor, "heal" | "recycle">): Turns => {
  const { metrics, options, router, slotOf } = pool
  const { heal, recycle } = supervisor

  /** Records a turn's outcome and latency in the pool's metrics. */
  const measured = <A, E extends { readonly _tag: string }, R>(turn: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      const started = performance.now()
      return Effect.onExit(turn, (exit) =>
        Effect.sync(() => metrics.turn(Metrics.outcomeOf(exit), performance.now() - started)))
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

  const tooLarge = (slot: Slot, inc: Incarnation) =>
    new ResponseTooLarge({ instance: slot.id, pid: inc.pid, limit: options.maxResponseBytes })

  const notRunning = (slot: Slot) => (error: SpawnError | InstanceNotRunning | TurnTimeout) =>
    error._tag === "InstanceNotRunning" || error._tag === "TurnTimeout"
      ? error
      : new InstanceNotRunning({ instance: slot.id, state: slot.state })

  const inactivityOf = (turn: TurnOptions | undefined): Duration.Duration | undefined =>
    turn?.inactivityTimeout !== undefined ? Duration.decode(turn.inactivityTimeout) : options.inactivityTimeout

  /** A turn's deadline: its own timeout, else the pool's `turnTimeout`. */
  const turnDuration = (timeout: Duration.DurationInput | undefined): Duration.Duration =>
    timeout === undefined ? options.turnTimeout : Duration.decode(timeout)

  /**
   * Runs a turn's `body` under its deadline (the turn's own timeout, else `turnTimeout`):
   * `body` passes the deadline to every wait of the turn (see `deadline.ts`).
   */
  const withTurnDeadline = <A, E>(
    slot: Slot,
    timeout: Duration.DurationInput | undefined,
    body: (deadline: Deadline<TurnTimeout> | undefined) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | TurnTimeout> => {
    const duration = turnDuration(timeout)
    return withDeadline(
      duration,
      () => new TurnTimeout({ instance: slot.id, pid: slot.current?.pid ?? null, timeout: duration, kind: "deadline" }),
      body
    )
  }

  /** Writes what `encode` makes of the instance's codec, at once or when stdin has room. */
  const writeTo = (id: number, encode: (inc: Incarnation) => Input): Effect.Effect<void, SendError> =>
    Effect.flatMap(slotOf(id), (slot): Effect.Effect<void, SendError> => {
      const inc = slot.current
      if (inc === undefined || !(slot.state === "ready" || slot.state === "busy" || slot.state === "starting")) {
        return Effect.fail(new InstanceNotRunning({ instance: id, state: slot.state }))
      }
      return Instance.write(inc, encode(inc))
    })

  const send = (id: number, input: string): Effect.Effect<void, SendError> =>
    writeTo(id, (inc) => inc.codec.encode(input))

  const notify = (id: number, method: string, params?: unknown): Effect.Effect<void, SendError> =>
    writeTo(id, (inc) => {
      if (inc.codec.rpc === undefined) throw new Error("notify needs a pool with Framing.jsonRpc")
      return inc.codec.rpc.notify(method, params)
    })

  const read = (id: number, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
    Effect.flatMap(slotOf(id), (slot) =>
      withTurnDeadline(slot, turn?.timeout, (deadline) =>
        slot.turn.withLock(
          Effect.gen(function*() {
            const inc = yield* serving(slot, deadline).pipe(Effect.mapError(notRunning(slot)))
            const frame = yield* Instance.takeFrame(inc, deadline)
            return yield* resultOf(frame, slot, inc, tooLarge)
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
          // It may have broken or exited while this turn waited for the answers owed.
          if (
            slot.current !== current || !(slot.state === "ready" || slot.state === "starting" || slot.state === "busy")
          ) {
            return yield* Effect.fail(new InstanceNotRunning({ instance: slot.id, state: slot.state }))
          }
          slot.state = "busy"
          if (current.codec.rpc !== undefined) {
            // A JSON-RPC turn: the input is {"method": ..., "params": ...}, the answer the result.
            const { method, params } = yield* parseCall(slot, input)
            const value = yield* Instance.call(slot.host, current, method, params, deadline).pipe(
              Effect.tapError((error) =>
                Effect.sync(() => {
                  if (error._tag !== "ResponseTooLarge") return
                  // answered, if too large: counted, and in step (nothing more to come for it)
                  progress.answered = true
                  slot.requests++
                  slot.servedByCurrent++
                })
              )
            )
            progress.answered = true
            slot.requests++
            slot.servedByCurrent++
            return JSON.stringify(value) ?? "null"
          }
          yield* Instance.write(current, current.codec.encode(input), deadline, () => {
            progress.sent = true
          })
          const frame = yield* (inactivity === undefined
            ? Instance.takeFrame(current, deadline)
            : Effect.raceFirst(Instance.takeFrame(current, deadline), silence(slot, current, inactivity)))
          // a continuation prompt is no answer: the tool still waits on this turn's input
          progress.answered = frame._tag !== "Continuation"
          slot.requests++
          slot.servedByCurrent++
          return yield* resultOf(frame, slot, current, tooLarge)
        })))
        if (slot.state === "busy") slot.state = "ready"
        const { answered, inc, sent } = progress
        const abandoned = sent && !answered && inc !== undefined && inc.broken === undefined ? inc : undefined
        if (abandoned === undefined) {
          yield* slot.turn.release
        } else {
          yield* abandon(slot, abandoned)
        }
        return yield* result
      })
    )

  /**
   * The tool was left busy with a turn's input: heal it in a fiber of its own (started now, so
   * that no interruption of the caller can skip it), holding the lock until it is done.
   */
  const abandonNow = (slot: Slot, inc: Incarnation): void => {
    inc.owed++
    slot.pending++
    const healing = Runtime.runFork(pool.runtime)(
      heal(slot, inc).pipe(Effect.ensuring(slot.turn.release.pipe(Effect.zipRight(release(slot)))))
    )
    // shutdown interrupts it (the lock and the claim are given back all the same)
    FiberSet.unsafeAdd(pool.background, healing)
  }
  const abandon = (slot: Slot, inc: Incarnation): Effect.Effect<void> => Effect.sync(() => abandonNow(slot, inc))

  /** Ends a claim on the slot (a turn's, or one that led to no turn); a waiting `submit` may have it. */
  const unclaim = (slot: Slot): void => {
    slot.pending--
    router.dispatch()
  }

  /**
   * `turnTimeout` in milliseconds, for the turns that have no timeout of their own: worked out
   * once, since `Duration.toMillis` allocates on each call (about 160 bytes per turn,
   * `bench/allocations.ts`).
   */
  const defaultMillis = Duration.toMillis(options.turnTimeout)

  const exchangeHooks: ExchangeHooks<Slot, TurnOptions | undefined> = {
    // No inactivity timeout, no tracer recording spans, the live clock. (The instance itself is
    // checked when the turn starts.)
    allowed: (fiber, turn) =>
      inactivityOf(turn) === undefined && fiber.currentTracer === nativeTracer &&
      Context.get(fiber.currentDefaultServices, Clock.Clock) === liveClock,
    millis: (turn) => turn?.timeout === undefined ? defaultMillis : Duration.toMillis(turn.timeout),
    timedOut: (slot, inc, turn) =>
      new TurnTimeout({ instance: slot.id, pid: inc.pid, timeout: turnDuration(turn?.timeout), kind: "deadline" }),
    release: (slot) => releaseNow(slot),
    unclaim,
    abandon: abandonNow,
    measure: metrics.turn,
    tooLarge
  }

  /** Fails once the tool has written nothing for `inactivity` (the turn's start counts as output). */
  const silence = (slot: Slot, inc: Incarnation, inactivity: Duration.Duration): Effect.Effect<never, TurnTimeout> =>
    Effect.suspend(() => {
      const limit = Duration.toMillis(inactivity)
      const since = slot.host.clock.unsafeCurrentTimeMillis()
      const check: Effect.Effect<never, TurnTimeout> = Effect.suspend(() => {
        const quiet = slot.host.clock.unsafeCurrentTimeMillis() - Math.max(inc.lastOutputAt, since)
        return quiet >= limit
          ? Effect.fail(new TurnTimeout({ instance: slot.id, pid: inc.pid, timeout: inactivity, kind: "inactivity" }))
          : Effect.zipRight(Effect.sleep(Duration.millis(limit - quiet)), check)
      })
      return check
    })

  /**
   * Ends a turn's claim on the slot at once and lets a waiting `submit` have it; returns the
   * recycling of the instance when it has served `maxRequests`, else undefined.
   */
  const releaseNow = (slot: Slot): Effect.Effect<void> | undefined => {
    unclaim(slot)
    return options.maxRequests !== undefined && slot.servedByCurrent >= options.maxRequests
      ? recycle(slot)
      : undefined
  }

  /** `releaseNow` as an effect. */
  const release = (slot: Slot) => Effect.suspend(() => releaseNow(slot) ?? Effect.void)

  const request = (id: number, input: string, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
    exchange(
      exchangeHooks,
      () => {
        const slot = pool.closed || !Number.isInteger(id) ? undefined : pool.slots[id]
        if (slot !== undefined) slot.pending++
        return slot
      },
      input,
      turn,
      asText,
      () => generalRequest(id, input, turn)
    )

  const generalRequest = (id: number, input: string, turn?: TurnOptions): Effect.Effect<string, TurnError> =>
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
          const result = yield* Instance.call(slot.host, inc, method, params, deadline).pipe(
            Effect.tapError((error) =>
              Effect.sync(() => {
                if (error._tag === "ResponseTooLarge") slot.requests++ // answered, if too large
              })
            )
          )
          slot.requests++
          return result
        })).pipe(
          whenTraced(
            Effect.withSpan("toolpool.call", { attributes: { instance: id, method }, captureStackTrace: false })
          ),
          measured
        ))

  /** A submitted turn on the slot the router reserved for it (the caller releases the slot). */
  const submitOn = (slot: Slot, input: string, submit: SubmitOptions | undefined) =>
    withTurnDeadline(
      slot,
      submit?.timeout,
      (deadline) =>
        turnOn(slot, input, inactivityOf(submit), deadline).pipe(
          Effect.map((output) => submitted(slot, output))
        )
    ).pipe(
      whenTraced(
        Effect.withSpan("toolpool.turn", { attributes: { instance: slot.id }, captureStackTrace: false })
      )
    )

  const generalSubmit = (input: string, submit: SubmitOptions | undefined): Effect.Effect<Submitted, SubmitError> =>
    Effect.suspend(() => {
      if (pool.closed) return Effect.fail(new PoolClosed())
      const acquireTimeout = submit?.acquireTimeout === undefined
        ? options.acquireTimeout
        : Duration.decode(submit.acquireTimeout)
      return useReserved(
        router.acquire(submit?.key, acquireTimeout),
        (slot) => submitOn(slot, input, submit),
        release
      )
    }).pipe(measured)

  const submitOnce = (input: string, submit: SubmitOptions | undefined): Effect.Effect<Submitted, SubmitError> =>
    exchange(
      exchangeHooks,
      // An idle instance at once, and nothing unusual: the turn is one exchange.
      () => pool.closed ? undefined : router.tryAcquire(submit?.key),
      input,
      submit,
      submitted,
      () => generalSubmit(input, submit)
    )

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

  return { send, notify, read, request, call, submit, release }
}

const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const submitted = (slot: { readonly id: number }, output: string): Submitted => ({ instance: slot.id, output })

/**
 * Applies `span` (an `Effect.withSpan`) to a turn only when spans go somewhere. Under Effect's
 * default tracer a span is recorded nowhere, yet making one and providing it to the turn as the
 * parent of what runs inside costs CPU on every turn, for nothing.
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
