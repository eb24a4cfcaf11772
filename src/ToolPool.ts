/**
 * A pool of long-running interactive command-line tools, talked to over stdin/stdout.
 *
 * @since 0.1.0
 */
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Health, InstanceStatus } from "./InstanceStatus.js"
import * as internal from "./internal/pool/pool.js"
import type { PoolEvent } from "./PoolEvent.js"
import type { Input, PoolOptions } from "./PoolOptions.js"
import type {
  IncompleteInput,
  InstanceExited,
  InstanceNotRunning,
  PoolBusy,
  PoolClosed,
  PoolUnavailable,
  ResponseTooLarge,
  RpcError,
  SpawnError,
  ToolPoolError,
  TurnTimeout,
  UnknownInstance,
  WriteFailed
} from "./ToolPoolError.js"
import { ConfigError } from "./ToolPoolError.js"

/**
 * Options of one turn.
 *
 * @since 0.1.0
 * @category models
 */
export interface TurnOptions {
  /** Deadline of the turn; the pool's `turnTimeout` when absent. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Fail the turn once the tool writes nothing for this long; the pool's `inactivityTimeout` when absent. */
  readonly inactivityTimeout?: Duration.DurationInput | undefined
}

/**
 * Options of `submit`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SubmitOptions extends TurnOptions {
  /** Session affinity: turns with the same key go to the same instance while it lives. */
  readonly key?: string | undefined
  /** How long to wait for a free instance; the pool's `acquireTimeout` when absent. */
  readonly acquireTimeout?: Duration.DurationInput | undefined
  /**
   * Retry on another (or the restarted) instance when the instance died under the turn,
   * e.g. `Schedule.recurs(2)`. Other failures are not retried.
   */
  readonly retry?: Schedule.Schedule<unknown, ToolPoolError> | undefined
}

/**
 * What `submit` returns: the response and the instance that gave it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Submitted {
  readonly instance: number
  readonly output: string
}

/**
 * A part of a streaming turn (`requestStream`, `submitStream`, `callStream`), in the order it
 * happened: what the instance wrote while the turn ran (`Output` text as it came, or for
 * line-delimited JSON each `Message`), the JSON-RPC notifications it sent (`callStream`), then
 * the end: `Done` with the framed response, or `Result` with a call's result.
 *
 * `Output` is the raw stream: for a prompt framing it holds the echo and the prompt that `Done`
 * strips.
 *
 * @since 0.2.0
 * @category models
 */
export type StreamPart =
  | { readonly _tag: "Output"; readonly text: string }
  | { readonly _tag: "Message"; readonly message: unknown }
  | { readonly _tag: "Notification"; readonly method: string; readonly params: unknown }
  | { readonly _tag: "Done"; readonly instance: number; readonly output: string }
  | { readonly _tag: "Result"; readonly instance: number; readonly result: unknown }

/**
 * A notification from an instance of a JSON-RPC pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Notification {
  readonly instance: number
  readonly method: string
  readonly params: unknown
}

/**
 * One instance, leased by `withInstance` for a conversation of several turns: nobody else's
 * `submit` gets it while the lease lasts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  readonly instance: number
  readonly request: (input: string, options?: TurnOptions) => Effect.Effect<string, TurnError>
  readonly send: (input: string) => Effect.Effect<void, SendError>
  readonly read: (options?: TurnOptions) => Effect.Effect<string, TurnError>
}

/**
 * Why `send` can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type SendError = UnknownInstance | InstanceNotRunning | InstanceExited | WriteFailed | PoolClosed

/**
 * Why `read` and `request` can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type TurnError = SendError | TurnTimeout | ResponseTooLarge | RpcError | IncompleteInput

/**
 * Why `submit` can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type SubmitError = TurnError | PoolBusy | PoolUnavailable

/**
 * Why `restart` can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type RestartError = UnknownInstance | SpawnError | PoolClosed

/**
 * A running pool. Instances are numbered `0 .. instances - 1`; an id stays the same
 * across restarts.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolPool {
  /** The decoded options the pool runs with. */
  readonly options: PoolOptions
  /**
   * Queues `input` (one line; a newline is added) for the instance's stdin and returns at
   * once. When the instance's input queue is full it waits for room instead of growing.
   */
  readonly send: (id: number, input: string) => Effect.Effect<void, SendError>
  /**
   * The instance's next response. A timeout loses nothing: the response, once complete,
   * goes to the next `read`.
   */
  readonly read: (id: number, options?: TurnOptions) => Effect.Effect<string, TurnError>
  /**
   * One exclusive turn: writes `input` and returns the response to it. Turns on an instance
   * run one at a time, first come first served. Output that arrived between turns is not
   * taken as the answer, and nor is a late answer to a turn whose caller gave up.
   */
  readonly request: (id: number, input: string, options?: TurnOptions) => Effect.Effect<string, TurnError>
  /**
   * One turn on any ready, idle instance. Callers wait in a bounded FIFO queue (`maxQueue`)
   * for at most the acquire timeout, else fail with `PoolBusy`.
   */
  readonly submit: (input: string, options?: SubmitOptions) => Effect.Effect<Submitted, SubmitError>
  /**
   * A JSON-RPC call (pools with `Framing.jsonRpc`): a request with a fresh id, and the result of
   * the response with that id, or an `RpcError`. Calls to one instance may overlap.
   */
  readonly call: (
    id: number,
    method: string,
    params?: unknown,
    options?: TurnOptions
  ) => Effect.Effect<unknown, TurnError>
  /**
   * A JSON-RPC notification to the instance (pools with `Framing.jsonRpc`): no id, no answer.
   */
  readonly notify: (id: number, method: string, params?: unknown) => Effect.Effect<void, SendError>
  /**
   * `request` as a stream: what the instance writes while the turn runs, as it comes, then
   * `Done`. The turn holds the instance until it ends; a consumer that stops early (or a
   * deadline) abandons it, and the instance is healed as after any abandoned turn.
   */
  readonly requestStream: (
    id: number,
    input: string,
    options?: TurnOptions
  ) => Stream.Stream<StreamPart, TurnError>
  /**
   * `submit` as a stream: routed as `submit` is (key, wait queue, acquire timeout), then as
   * `requestStream`. Not retried: parts already seen cannot be taken back.
   */
  readonly submitStream: (input: string, options?: SubmitOptions) => Stream.Stream<StreamPart, SubmitError>
  /** `call` as a stream: the instance's notifications while the call runs, then `Result`. */
  readonly callStream: (
    id: number,
    method: string,
    params?: unknown,
    options?: TurnOptions
  ) => Stream.Stream<StreamPart, TurnError>
  /**
   * Everything the instance writes to stdout from now on, across its restarts (a terminal
   * transport's single stream). Free while nobody listens; a subscriber more than 1024 chunks
   * behind loses the oldest, and never holds up the tool. Ends when the pool shuts down.
   */
  readonly output: (id: number) => Stream.Stream<Uint8Array>
  /** As `output`, for stderr. */
  readonly stderr: (id: number) => Stream.Stream<Uint8Array>
  /**
   * Notifications from every instance of a JSON-RPC pool, from the moment of subscription.
   * A subscriber that falls more than 1024 behind loses the oldest.
   */
  readonly notifications: Stream.Stream<Notification>
  /**
   * A subscription to the notifications that starts now, for the life of the scope: subscribe,
   * then call, and no notification sent in answer can be missed.
   */
  readonly subscribeNotifications: Effect.Effect<Queue.Dequeue<Notification>, never, Scope.Scope>
  /** Lifecycle events of every instance (spawned, ready, exited, restarting, gave up, stopped). */
  readonly events: Stream.Stream<PoolEvent>
  /**
   * Leases an idle instance for `use` (a multi-turn conversation), waiting like `submit` does;
   * the lease ends when `use` does, however it ends.
   */
  readonly withInstance: <A, E, R>(
    use: (lease: Lease) => Effect.Effect<A, E, R>,
    options?: {
      readonly key?: string | undefined
      readonly acquireTimeout?: Duration.DurationInput | undefined
    }
  ) => Effect.Effect<A, E | PoolBusy | PoolUnavailable | PoolClosed, R>
  /**
   * Grows or shrinks the pool to `instances` while it runs. New instances are ready when it
   * completes; removed ones (the highest ids) finish their turns first, then stop.
   */
  readonly resize: (instances: number) => Effect.Effect<void, ConfigError | SpawnError | PoolClosed>
  /** A snapshot of every instance. */
  readonly status: Effect.Effect<ReadonlyArray<InstanceStatus>>
  /** Instances counted by state. */
  readonly health: Effect.Effect<Health>
  /**
   * Stops the instance (gracefully, escalating as on shutdown) and starts it again under the
   * same id; completes when the new process is ready. Its restart count goes up by one.
   */
  readonly restart: (id: number) => Effect.Effect<void, RestartError>
  /**
   * Takes no more work, lets turns in flight finish up to `drain`, then stops every instance:
   * close stdin, wait `grace`, SIGTERM the process group, wait `killAfter`, SIGKILL the group.
   * Closing the pool's scope does the same; both may be called any number of times.
   */
  readonly shutdown: Effect.Effect<void>
}

/**
 * The default service key of a pool. For a second pool in the same program, declare a key of
 * your own and provide it with {@link layerAs}.
 *
 * @since 0.1.0
 * @category tags
 */
export const ToolPool: Context.Tag<ToolPool, ToolPool> = Context.GenericTag<ToolPool>("toolpool/ToolPool")

/**
 * Checks the options, spawns every instance concurrently and waits until all are ready.
 * Fails with a `ConfigError` before spawning anything if an option is wrong, or with the
 * `SpawnError` of the first instance that could not start (the others are then stopped).
 * The pool lives as long as the surrounding `Scope`.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Presets, ToolPool } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   // python3 behind a small loop that frames each turn (see docs/presets.md)
 *   const pool = yield* ToolPool.make(Presets.python({ instances: 2 }))
 *   yield* pool.request(0, "x = 21")
 *   const answer = yield* pool.request(0, "x * 2") // "42"
 * })
 *
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options: Input
) => Effect.Effect<ToolPool, ConfigError | SpawnError, Scope.Scope> = internal.make

/**
 * A layer that provides a pool under the default {@link ToolPool} key.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Input
): Layer.Layer<ToolPool, ConfigError | SpawnError> => Layer.scoped(ToolPool, make(options))

/**
 * A layer that provides a pool under a key of your own, for programs with several pools.
 *
 * @example
 * ```ts
 * import { Context, Layer } from "effect"
 * import { Presets, ToolPool } from "toolpool"
 *
 * class Aiders extends Context.Tag("app/Aiders")<Aiders, ToolPool.ToolPool>() {}
 * class Pythons extends Context.Tag("app/Pythons")<Pythons, ToolPool.ToolPool>() {}
 *
 * const pools = Layer.mergeAll(
 *   ToolPool.layerAs(Aiders, Presets.aider({ instances: 3 })),
 *   ToolPool.layerAs(Pythons, Presets.python())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAs = <Id>(
  tag: Context.Tag<Id, ToolPool>,
  options: Input
): Layer.Layer<Id, ConfigError | SpawnError> => Layer.scoped(tag, make(options))

/**
 * A layer whose options are read through `Config` (environment variables by default).
 * A missing or malformed value fails with a `ConfigError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config<Input>
): Layer.Layer<ToolPool, ConfigError | SpawnError> =>
  Layer.scoped(
    ToolPool,
    config.pipe(
      Effect.mapError((error) => new ConfigError({ field: "(config)", reason: String(error) })),
      Effect.flatMap(make)
    )
  )
