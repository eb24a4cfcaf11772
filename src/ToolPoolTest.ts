/**
 * A `ToolPool` without processes, for your own tests: provide `ToolPoolTest.layer(...)` where
 * production code gets `ToolPool.layer(...)`, and say how the "tool" answers, with a function or
 * a script.
 *
 * It behaves like the real pool where a test can tell: instances `0 .. instances - 1` with
 * states (`ready`, `busy`, `exited`, `backing-off`, `failed`, `stopped`), request and restart
 * counts, `send`/`read`, exclusive `request` turns, `submit` with the real router (FIFO wait
 * queue, `maxQueue`, acquire timeout and `PoolBusy`, key affinity, retry), `withInstance`,
 * `resize`, `restart`, `shutdown`, lifecycle `events`, `ToolPoolMetrics`, deadlines
 * (`TurnTimeout`), and options checked by the same schema (`ConfigError`). An answer that fails with `InstanceExited` ends
 * the instance as a crash would, and the restart policy restarts it (or gives up) on its
 * schedule. Time is the Effect `Clock`, so `TestClock` drives timeouts and restart delays.
 *
 * What it does not do: framing, inactivity timeouts, health probes and recycling
 * (`maxRequests`, `maxUptime`) are not simulated; pids are synthetic (10,000,000 and up, beyond
 * any real process); the stderr tail is always empty.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/testPool.js"
import type { Input } from "./PoolOptions.js"
import { ToolPool } from "./ToolPool.js"
import type { ToolPool as Service, TurnError } from "./ToolPool.js"
import type { ConfigError } from "./ToolPoolError.js"

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
export const make: (options?: Options) => Effect.Effect<Service, ConfigError, Scope.Scope> = internal.make

/**
 * The test pool under the default `ToolPool.ToolPool` key: provide it instead of
 * `ToolPool.layer(...)`. Needs no `CommandExecutor`.
 *
 * @example
 * ```ts
 * import { it, expect } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { ToolPool, ToolPoolTest } from "toolpool"
 *
 * const askTwice = Effect.gen(function*() {
 *   const pool = yield* ToolPool.ToolPool
 *   return [yield* pool.request(0, "x = 1"), yield* pool.request(0, "x")]
 * })
 *
 * it.effect("asks twice", () =>
 *   Effect.gen(function*() {
 *     expect(yield* askTwice).toEqual(["", "1"])
 *   }).pipe(Effect.provide(ToolPoolTest.layer({ script: [["x = 1", ""], ["x", "1"]] }))))
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
