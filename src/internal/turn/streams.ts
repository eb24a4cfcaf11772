/**
 * Turns as streams: `requestStream`, `submitStream` and `callStream` run the pool's own turn
 * (`request`, `call`) and show what the instance writes while it runs, in order, then how the
 * turn ended. The consumer owns the turn: stopping early interrupts it, and the pool heals the
 * instance as for any abandoned turn.
 *
 * How the order is kept: the turn subscribes to the instance's live output before it writes,
 * into a queue of its own, and its end goes into the same queue. The output hub is fed before
 * the framing decodes a chunk (`pool/instance.ts`), so every chunk of the answer is queued before
 * the turn can complete.
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Framing } from "../../Framing.js"
import type { Notification, StreamPart, SubmitOptions, ToolPool, TurnError, TurnOptions } from "../../ToolPool.js"
import type { PoolBusy, PoolClosed, PoolUnavailable } from "../../ToolPoolError.js"
import type { Outputs } from "../output/outputs.js"

/** Parts queued per streaming turn before the oldest output goes (a consumer that lags). */
const CAPACITY = 4096

type Item<A> = Uint8Array | Notification | { readonly end: Exit.Exit<A, TurnError> }

const isEnd = <A>(item: Item<A>): item is { readonly end: Exit.Exit<A, TurnError> } =>
  !(item instanceof Uint8Array) && "end" in item

/** What a streaming turn needs of the pool. @internal */
export interface StreamHost {
  readonly framing: Framing
  readonly outputs: Outputs
  readonly request: ToolPool["request"]
  readonly call: ToolPool["call"]
  readonly subscribeNotifications: ToolPool["subscribeNotifications"]
  /** Holds an instance (as `withInstance` does) for the life of the scope. */
  readonly lease: (
    options: { readonly key?: string | undefined; readonly acquireTimeout?: SubmitOptions["acquireTimeout"] }
  ) => Effect.Effect<number, PoolBusy | PoolUnavailable | PoolClosed, Scope.Scope>
}

/** Live output as parts: text chunks, or for line-delimited JSON, each message. */
const outputParts = (framing: Framing) => {
  const ndjson = framing._tag === "Ndjson" || (framing._tag === "JsonRpc" && framing.over === "ndjson")
  const decoder = new TextDecoder()
  let partial = ""
  return (bytes: Uint8Array): ReadonlyArray<StreamPart> => {
    const text = decoder.decode(bytes, { stream: true })
    if (!ndjson) return text === "" ? [] : [{ _tag: "Output", text }]
    const lines = (partial + text).split("\n")
    partial = lines.pop() ?? ""
    const parts: Array<StreamPart> = []
    for (const line of lines) {
      if (line.trim() === "") continue
      try {
        parts.push({ _tag: "Message", message: JSON.parse(line) })
      } catch {
        parts.push({ _tag: "Output", text: `${line}\n` })
      }
    }
    return parts
  }
}

/**
 * Runs `turn` on instance `id` and streams the instance's output (and, for calls, its
 * notifications) until the turn ends; the last part is `done(result)`, or the stream fails
 * with the turn's error.
 */
const streamTurn = <A, E>(
  host: StreamHost,
  id: Effect.Effect<number, E, Scope.Scope>,
  turn: (id: number) => Effect.Effect<A, TurnError>,
  done: (id: number, result: A) => StreamPart,
  withNotifications: boolean
): Stream.Stream<StreamPart, TurnError | E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const instance = yield* id
    const queue = yield* Effect.acquireRelease(Queue.sliding<Item<A>>(CAPACITY), Queue.shutdown)
    yield* host.outputs.subscribe(instance, "stdout", queue)
    if (withNotifications) {
      const notes = yield* host.subscribeNotifications
      yield* Queue.take(notes).pipe(
        Effect.flatMap((note) => note.instance === instance ? Queue.offer(queue, note) : Effect.void),
        Effect.forever,
        Effect.forkScoped
      )
    }
    // The turn belongs to the stream's scope: a consumer that stops early interrupts it.
    yield* turn(instance).pipe(
      Effect.exit,
      Effect.flatMap((end) => Queue.offer(queue, { end })),
      Effect.forkScoped
    )
    const toParts = outputParts(host.framing)
    return Stream.fromQueue(queue).pipe(
      Stream.takeUntil(isEnd),
      Stream.mapConcatEffect((item): Effect.Effect<ReadonlyArray<StreamPart>, TurnError> => {
        if (item instanceof Uint8Array) return Effect.succeed(toParts(item))
        if (!isEnd(item)) return Effect.succeed([{ _tag: "Notification", method: item.method, params: item.params }])
        return Exit.match(item.end, {
          onFailure: Effect.failCause,
          onSuccess: (result) => Effect.succeed([done(instance, result)])
        })
      })
    )
  }))

/** @internal */
export const makeStreams = (host: StreamHost) => ({
  requestStream: (id: number, input: string, options?: TurnOptions) =>
    streamTurn(
      host,
      Effect.succeed(id),
      (instance) => host.request(instance, input, options),
      (instance, output) => ({ _tag: "Done", instance, output }),
      false
    ),
  submitStream: (input: string, options?: SubmitOptions) =>
    streamTurn(
      host,
      host.lease({ key: options?.key, acquireTimeout: options?.acquireTimeout }),
      (instance) => host.request(instance, input, options),
      (instance, output) => ({ _tag: "Done", instance, output }),
      false
    ),
  callStream: (id: number, method: string, params?: unknown, options?: TurnOptions) =>
    streamTurn(
      host,
      Effect.succeed(id),
      (instance) => host.call(instance, method, params, options),
      (instance, result) => ({ _tag: "Result", instance, result }),
      true
    )
})

/**
 * An instance held as `withInstance` holds it, for the life of the scope: its id once it is
 * leased, or why it could not be.
 * @internal
 */
export const leaseScoped = (
  withInstance: ToolPool["withInstance"],
  options: Parameters<StreamHost["lease"]>[0]
): Effect.Effect<number, PoolBusy | PoolUnavailable | PoolClosed, Scope.Scope> =>
  Effect.gen(function*() {
    const leased = yield* Deferred.make<number>()
    const released = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Deferred.succeed(released, undefined))
    const holder = yield* withInstance(
      (lease) => Effect.zipRight(Deferred.succeed(leased, lease.instance), Deferred.await(released)),
      options
    ).pipe(Effect.forkScoped)
    return yield* Effect.raceFirst(
      Deferred.await(leased),
      Effect.zipRight(Fiber.join(holder), Effect.never)
    )
  })
