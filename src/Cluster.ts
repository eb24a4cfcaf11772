/**
 * One pool across machines, on `@effect/cluster`: runners serve a session per `submit` key on top
 * of a local `ToolPool`; clients `submit` from any process with the same signature.
 *
 * - A **runner** (`layerRunner`) runs a local pool and serves two entities: a session per key,
 *   whose turns run one at a time on the instance the key holds in that pool, and lanes for
 *   keyless turns. The cluster assigns each key to one runner (by shard) and moves it when
 *   runners come and go.
 * - A **client** (`layerClient`, `ClusterClient`) sends turns. A keyless turn goes to a runner
 *   with a free instance, trying others while runners answer `PoolBusy`.
 * - **Storage**: runners register and lock their shards in SQL: SQLite for one machine (every
 *   process opens the same file), Postgres for several.
 * - **No silent re-execution**: each session has an epoch; a turn that reaches a session rebuilt
 *   since the caller's last turn (its runner died or stopped, its shard moved, its tool restarted)
 *   fails with `SessionReset` without running. Turns are never written to storage, so never
 *   replayed from it.
 *
 * Runner ports speak unauthenticated msgpack: bind them (`listen`) where untrusted peers cannot
 * reach them. This module is optional: it needs the peer dependencies `@effect/cluster`,
 * `@effect/rpc`, `@effect/sql` and the driver of the storage (`@effect/sql-sqlite-node` or
 * `@effect/sql-pg`); a program that does not import `toolpool/Cluster` needs none of them.
 *
 * @since 0.2.0
 */
import type * as Sharding from "@effect/cluster/Sharding"
import * as TestRunner from "@effect/cluster/TestRunner"
import type * as SocketServer from "@effect/platform/SocketServer"
import type { SqlError } from "@effect/sql/SqlError"
import type { ConfigError as SettingsError } from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ClusterError } from "./ClusterError.js"
import * as client from "./internal/cluster/client.js"
import * as runner from "./internal/cluster/runner.js"
import * as sharding from "./internal/cluster/sharding.js"
import type { Input } from "./PoolOptions.js"
import * as ToolPool from "./ToolPool.js"
import type { ConfigError, SpawnError } from "./ToolPoolError.js"

/**
 * Where runners register and hold their shard locks: a SQLite file (one machine) or a Postgres
 * database (several).
 *
 * @since 0.2.0
 * @category models
 */
export type Storage = sharding.Storage

/**
 * A host and a port.
 *
 * @since 0.2.0
 * @category models
 */
export type Address = sharding.Address

/**
 * Cluster settings, the same on every runner and client. `lockExpiration` bounds how long the
 * keys of a runner that died unannounced stay unreachable (default 10 s); `refreshAssignments`
 * is how often every process reads the runner registry (default 1 s); `shards` (default 300)
 * must never differ between processes of one cluster; `sessionIdle` (default 5 min) is how long
 * a session entity stays in memory without a turn (its tool instance and epoch outlive it).
 *
 * @since 0.2.0
 * @category models
 */
export type Tuning = sharding.Tuning

/**
 * SQLite storage in `filename`, for runners and clients on one machine.
 *
 * @since 0.2.0
 * @category constructors
 */
export const sqlite = (filename: string): Storage => ({ _tag: "Sqlite", filename })

/**
 * Postgres storage at `url` (`postgres://user:password@host:5432/db`), for several machines.
 *
 * @since 0.2.0
 * @category constructors
 */
export const postgres = (url: string | Redacted.Redacted): Storage => ({
  _tag: "Postgres",
  url: Redacted.isRedacted(url) ? url : Redacted.make(url)
})

/**
 * Reads storage as written on a command line: `sqlite:FILE`, `postgres:URL`, or a `postgres://`
 * or `postgresql://` URL as it is.
 *
 * @since 0.2.0
 * @category constructors
 */
export const parseStorage = (text: string): Either.Either<Storage, string> => {
  if (text.startsWith("sqlite:") && text.length > "sqlite:".length) {
    return Either.right(sqlite(text.slice("sqlite:".length)))
  }
  if (/^postgres(ql)?:\/\//.test(text)) return Either.right(postgres(text))
  if (text.startsWith("postgres:") && text.length > "postgres:".length) {
    return Either.right(postgres(text.slice("postgres:".length)))
  }
  return Either.left(`storage must be sqlite:FILE or postgres:URL, got ${JSON.stringify(text)}`)
}

/**
 * What a turn through the cluster returns: the response, the runner (its advertised
 * `host:port`) and instance that gave it, and the epoch of the session it ran on.
 *
 * @since 0.2.0
 * @category models
 */
export type Submitted = client.Submitted

/**
 * Options of a turn through the cluster. `key`, `timeout`, `inactivityTimeout` and
 * `acquireTimeout` mean what they mean for `ToolPool.submit`; the runner pool's own settings
 * apply when they are absent. `epoch`: the epoch the caller saw last for the key, for a caller
 * that keeps it itself (by default the client remembers it).
 *
 * @since 0.2.0
 * @category models
 */
export type SubmitOptions = client.SubmitOptions

/**
 * A client of the cluster.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClusterClient {
  /**
   * One turn. With a `key`, on the key's runner and instance, after every earlier turn of the
   * key; the first turn of a key from this client asks the session for its epoch first. Without
   * a key, on any runner with a free instance. Waits at most `timeout` plus `acquireTimeout`
   * plus 10 s for an answer (else `ClusterTimeout`), or `maxWait` when the turn has no timeout.
   */
  readonly submit: (input: string, options?: SubmitOptions) => Effect.Effect<Submitted, ClusterError>
  /**
   * `submit` as a stream: what the instance writes while the turn runs, as it comes (the parts
   * of `ToolPool.submitStream`), then `Done` with runner, instance, output and epoch. The same
   * epoch rule: a turn on a rebuilt session fails with `SessionReset` before any part. If the
   * runner dies mid-turn the stream fails (`SessionReset` from the key's next runner) after the
   * parts already seen. The bound (`timeout` + `acquireTimeout` + 10 s, or `maxWait`) is on the
   * wait for each part.
   */
  readonly submitStream: (input: string, options?: SubmitOptions) => Stream.Stream<Part, ClusterError>
}

/**
 * A part of a turn streamed through the cluster: `Output` (text as it came), `Message` (ndjson),
 * `Notification`, then `Done`.
 *
 * @since 0.2.0
 * @category models
 */
export type Part = client.Part

/**
 * The service key of the cluster client.
 *
 * @since 0.2.0
 * @category tags
 */
export const ClusterClient: Context.Tag<ClusterClient, ClusterClient> = Context.GenericTag<ClusterClient>(
  "toolpool/Cluster/ClusterClient"
)

/**
 * Options of a client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions {
  /** The longest a turn without a `timeout` of its own waits for an answer (default 5 minutes). */
  readonly maxWait?: Duration.DurationInput | undefined
  /** How long a turn waits for a free instance when it gives no `acquireTimeout` (default 30 s). */
  readonly acquireTimeout?: Duration.DurationInput | undefined
  /**
   * How many lanes keyless turns spread over (default 64). Lanes land on runners by hash, so a
   * runner may hold none: keep it at 10 or more per runner (see docs/cluster.md).
   */
  readonly lanes?: number | undefined
}

/**
 * A client over the sharding in the context (a client's, a runner's, or `TestRunner`'s).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeClient = (
  options: ClientOptions = {}
): Effect.Effect<ClusterClient, never, Sharding.Sharding | Scope.Scope> =>
  Effect.map(
    client.make({
      maxWait: options.maxWait ?? "5 minutes",
      acquireTimeout: options.acquireTimeout ?? "30 seconds",
      lanes: Math.max(1, Math.floor(options.lanes ?? 64))
    }),
    (made) => ClusterClient.of(made)
  )

/**
 * The entities a runner serves, over the `ToolPool` in the context, registered with the sharding
 * in the context. `layerRunner` includes them; use this one to build a cluster of your own
 * (with `TestRunner.layer`, say).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerEntities: Layer.Layer<never, never, ToolPool.ToolPool | Sharding.Sharding> = runner.layerEntities

/**
 * Options of a runner.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunnerOptions {
  /** The local pool this runner serves turns on. */
  readonly pool: Input
  readonly storage: Storage
  /** Where to listen for the other runners and the clients. Bind it privately. */
  readonly listen: Address
  /** Where the others reach this runner (default: `listen`); its name in results. */
  readonly advertise?: Address | undefined
  readonly tuning?: Partial<Tuning> | undefined
}

/**
 * A runner: starts the pool, joins the cluster, serves the sessions its shards hold until its
 * scope closes. Closing it hands its shards over (their sessions' next turns fail with
 * `SessionReset`), then stops the pool as `ToolPool.shutdown` does.
 *
 * @example
 * ```ts
 * import * as Cluster from "toolpool/Cluster"
 *
 * export const runner = Cluster.layerRunner({
 *   pool: { command: "bc", args: ["-q"], instances: 4 },
 *   storage: Cluster.sqlite("/var/tmp/toolpool.db"),
 *   listen: { host: "127.0.0.1", port: 7001 }
 * })
 * // serve until SIGINT or SIGTERM: runner.pipe(Layer.launch, NodeRuntime.runMain)
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerRunner = (
  options: RunnerOptions
): Layer.Layer<never, ConfigError | SpawnError | SocketServer.SocketServerError | SqlError | SettingsError> =>
  layerEntities.pipe(
    Layer.provide(sharding.layerRunner({
      storage: options.storage,
      listen: options.listen,
      advertise: options.advertise ?? options.listen,
      tuning: { ...sharding.defaultTuning, ...options.tuning }
    })),
    // the pool is built first and closed last: the shards are handed over before it stops
    Layer.provide(ToolPool.layer(options.pool))
  )

/**
 * Options of `layerClient`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientLayerOptions extends ClientOptions {
  readonly storage: Storage
  readonly tuning?: Partial<Tuning> | undefined
}

/**
 * A client that joins the cluster without serving anything: it reads where the runners are from
 * the storage and sends them turns.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Cluster from "toolpool/Cluster"
 *
 * const program = Effect.gen(function*() {
 *   const cluster = yield* Cluster.ClusterClient
 *   const { output, runner } = yield* cluster.submit("2 + 2", { key: "alice" })
 * })
 *
 * export const main = program.pipe(
 *   Effect.provide(Cluster.layerClient({ storage: Cluster.sqlite("/var/tmp/toolpool.db") }))
 * )
 * // with runners up: Effect.runPromise(main)
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClient = (options: ClientLayerOptions): Layer.Layer<ClusterClient, SqlError | SettingsError> =>
  Layer.scoped(ClusterClient, makeClient(options)).pipe(
    Layer.provide(sharding.layerClient({
      storage: options.storage,
      tuning: { ...sharding.defaultTuning, ...options.tuning }
    }))
  )

/**
 * The whole cluster in one process (`@effect/cluster`'s `TestRunner`): one runner over a pool
 * with `pool`, in-memory storage, and a client. For tests of programs that use `ClusterClient`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest = (
  pool: Input,
  options: ClientOptions = {}
): Layer.Layer<ClusterClient, ConfigError | SpawnError> =>
  Layer.scoped(ClusterClient, makeClient(options)).pipe(
    Layer.merge(layerEntities),
    Layer.provide(TestRunner.layer),
    Layer.provide(ToolPool.layer(pool))
  )
