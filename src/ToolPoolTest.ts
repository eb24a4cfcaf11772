/**
 * The real pool over scripted tools, for your own tests: provide `ToolPoolTest.layer(...)` where
 * production code gets `ToolPool.layer(...)`, and say how the "tool" answers, with a function or
 * a script.
 *
 * It is `ToolPool.make` itself, over `Transport.scripted`: every instance is a process in
 * memory that reads the pool's requests and answers from `respond`, `script` or `call`. So all
 * the pool does is what it does in production: routing, key affinity, the wait queue, deadlines
 * and inactivity timeouts, healing an abandoned turn, recycling, health probes, restarts by
 * policy, resize, drain and shutdown, events and metrics. Time is the Effect `Clock`, so
 * `TestClock` drives timeouts, latencies and restart delays.
 *
 * The tool answers in the framing you give (`lines`, `ndjson`, `contentLength`, or `jsonRpc`
 * with a `call` handler); by default `contentLength` (any text, several lines included), or
 * JSON-RPC over Content-Length when `call` is given. For tools of your own (a prompt, chunked
 * or slow output, a tool that ignores SIGTERM), run `ToolPool.make` over `Transport.scripted`.
 * Pids are synthetic (10,000,000 and up, beyond any real process).
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Framing from "./Framing.js"
import { testTool } from "./internal/testTool.js"
import { decode } from "./PoolOptions.js"
import type { Input } from "./PoolOptions.js"
import { make as makePool, ToolPool } from "./ToolPool.js"
import type { ToolPool as Service, TurnError } from "./ToolPool.js"
import { ConfigError } from "./ToolPoolError.js"
import type { SpawnError } from "./ToolPoolError.js"
import * as Transport from "./Transport.js"

/**
 * What an answer can see of the turn besides its input.
 *
 * @since 0.1.0
 * @category models
 */
export interface Turn {
  /** The instance's synthetic pid, to fill in errors such as `InstanceExited`. */
  readonly pid: number
  /** Publishes a notification on the pool's `notifications` stream, as a JSON-RPC tool would. */
  readonly notify: (method: string, params?: unknown) => Effect.Effect<void>
}

/**
 * A scripted answer: the response, or the error the turn fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type Reply = string | TurnError

/**
 * Options of the test pool: how the tool answers, and any pool options (`instances`,
 * `turnTimeout`, `acquireTimeout`, `maxQueue`, `restart`, `drain`, ...), checked as
 * `ToolPool.make` checks them. `command` defaults to `"toolpool-test"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Partial<Input> {
  /**
   * The answer to an input (from `request`, `submit`, a lease, or `send` then `read`): a string,
   * or an effect that may fail with any `TurnError`, sleep (to be busy, or to time out) or be
   * interrupted. An `InstanceExited` failure ends the instance: its `exitCode` and `signal`
   * become the instance's last exit, and the restart policy decides what follows. Without
   * `respond` and `script`, every input is answered with itself.
   */
  readonly respond?: (
    input: string,
    instance: number,
    turn: Turn
  ) => string | Effect.Effect<string, TurnError>
  /**
   * Answers by input: a `Map`, a list of `[input, reply]` pairs, or a record. An input listed
   * several times gets its replies in order, then the last one again and again (so a stateful
   * tool can be scripted). Consulted before `respond`; an input it lacks goes to `respond`, or,
   * without one, is a defect naming the input.
   */
  readonly script?: Iterable<readonly [string, Reply]> | Readonly<Record<string, Reply>>
  /** The result of `call(id, method, params)`; without it, `call` is a defect. */
  readonly call?: (
    method: string,
    params: unknown,
    instance: number,
    turn: Turn
  ) => unknown | Effect.Effect<unknown, TurnError>
  /** Added before every answer, so that turns take time (instances stay `busy`, callers queue). */
  readonly latency?: Duration.DurationInput
}

/**
 * A test pool, for the life of the surrounding `Scope`. Fails with `ConfigError` when an
 * option is wrong, as `ToolPool.make` does.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ToolPoolTest } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ToolPoolTest.make({ instances: 2, respond: (input) => input.toUpperCase() })
 *   return yield* pool.submit("hello") // { instance: 0, output: "HELLO" }
 * })
 *
 * Effect.runPromise(Effect.scoped(program))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service, ConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const { call, latency: _latency, respond: _respond, script: _script, ...input } = options
    const framing = input.framing ??
      (call !== undefined ? Framing.jsonRpc({ over: "contentLength" }) : Framing.contentLength())
    const pool = { command: "toolpool-test", ...input, framing }
    const decoded = yield* decode(pool)
    if (!answerable.includes(decoded.framing._tag)) {
      return yield* new ConfigError({
        field: "framing",
        reason: `ToolPoolTest answers in the ${answerable.join(", ")} framings; ` +
          `for ${decoded.framing._tag}, run ToolPool.make over Transport.scripted`
      })
    }
    return yield* makePool({ ...pool, transport: Transport.scripted(testTool(options, decoded)) }).pipe(
      // scripted tools start at once; a spawn failure would be a bug in the test tool
      Effect.catchTag("SpawnError", (error: SpawnError) => Effect.die(error))
    )
  })

const answerable: ReadonlyArray<Framing.Framing["_tag"]> = ["Lines", "Ndjson", "ContentLength", "JsonRpc"]

/**
 * The test pool under the default `ToolPool.ToolPool` key: provide it instead of
 * `ToolPool.layer(...)`. Needs no `CommandExecutor`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { deepStrictEqual } from "node:assert"
 * import { ToolPool, ToolPoolTest } from "toolpool"
 *
 * const askTwice = Effect.gen(function*() {
 *   const pool = yield* ToolPool.ToolPool
 *   return [yield* pool.request(0, "x = 1"), yield* pool.request(0, "x")]
 * })
 *
 * // In a test: the same under `it.effect` of @effect/vitest (docs/testing.md)
 * const answers = askTwice.pipe(Effect.provide(ToolPoolTest.layer({ script: [["x = 1", ""], ["x", "1"]] })))
 * Effect.runPromise(answers).then((got) => deepStrictEqual(got, ["", "1"]))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Service, ConfigError> => Layer.scoped(ToolPool, make(options))

/**
 * The test pool under a key of your own, standing in for `ToolPool.layerAs(tag, ...)`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerAs = <Id>(tag: Context.Tag<Id, Service>, options?: Options): Layer.Layer<Id, ConfigError> =>
  Layer.scoped(tag, make(options))
