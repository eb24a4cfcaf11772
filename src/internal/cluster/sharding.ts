/**
 * The cluster underneath: sharding over sockets, runner registry and shard locks in SQL.
 *
 * Composed here rather than with `NodeClusterSocket.layer`, whose configuration also reads the
 * environment (`HOST`, `PORT`, ...): every address and setting of a toolpool runner is one it was
 * given. Turns are volatile messages (never written to storage, so never replayed from it), so
 * the message storage is the no-op one; SQL holds only runners and shard locks.
 * @internal
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import type * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { ConfigError } from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

/** Where runners register and hold their shard locks. @internal */
export type Storage =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted }

/** A host and port. @internal */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * How fast the cluster notices a runner that went away, and how many shards there are.
 * @internal
 */
export interface Tuning {
  /** A runner that stops refreshing its shard locks loses them after this long. */
  readonly lockExpiration: Duration.DurationInput
  /** How often every node reads the runner registry (and so sees runners come and go). */
  readonly refreshAssignments: Duration.DurationInput
  /** Shards of the cluster: the same number on every runner and client. */
  readonly shards: number
  /** How long a session entity lives without a turn (its tool instance and epoch stay). */
  readonly sessionIdle: Duration.DurationInput
}

/** @internal */
export const defaultTuning: Tuning = {
  lockExpiration: Duration.seconds(10),
  refreshAssignments: Duration.seconds(1),
  shards: 300,
  sessionIdle: Duration.minutes(5)
}

/** Tables are prefixed, so that a database can hold a cluster of the user's own beside this one. */
const TABLE_PREFIX = "toolpool"

/** The driver is loaded when used: a user of one storage needs no other's package installed. */
const driver = <A>(name: string, load: () => Promise<A>): Effect.Effect<A> =>
  Effect.tryPromise(load).pipe(
    Effect.orDieWith((cause) => new Error(`toolpool/Cluster: this storage needs the package ${name}: ${String(cause)}`))
  )

const sqlLayer = (storage: Storage): Layer.Layer<SqlClient.SqlClient, SqlError | ConfigError> =>
  storage._tag === "Sqlite"
    ? Layer.unwrapEffect(Effect.map(
      driver("@effect/sql-sqlite-node", () => import("@effect/sql-sqlite-node/SqliteClient")),
      (SqliteClient) => SqliteClient.layer({ filename: storage.filename })
    ))
    : Layer.unwrapEffect(Effect.map(
      driver("@effect/sql-pg", () => import("@effect/sql-pg/PgClient")),
      (PgClient) => PgClient.layer({ url: storage.url, maxConnections: 4 })
    ))

const config = (tuning: Tuning, runner: Option.Option<{ listen: Address; advertise: Address }>) => {
  const expiration = Duration.decode(tuning.lockExpiration)
  return ShardingConfig.layer({
    runnerAddress: Option.map(runner, ({ advertise }) => RunnerAddress.make(advertise.host, advertise.port)),
    runnerListenAddress: Option.map(runner, ({ listen }) => RunnerAddress.make(listen.host, listen.port)),
    shardsPerGroup: tuning.shards,
    shardLockExpiration: expiration,
    // several refreshes per expiration, so that one slow write does not lose the shards
    shardLockRefreshInterval: Duration.divide(expiration, 5).pipe(Option.getOrElse(() => Duration.seconds(1))),
    refreshAssignmentsInterval: tuning.refreshAssignments,
    entityMaxIdleTime: tuning.sessionIdle
  })
}

/**
 * The first processes of a cluster create its tables at once, and Postgres fails all but one
 * concurrent `CREATE TABLE IF NOT EXISTS` of a table (seen here with three runners starting on a
 * new database): a failed start of the storage is tried again a few times.
 */
const storageLayers = (storage: Storage) =>
  Layer.merge(MessageStorage.layerNoop, SqlRunnerStorage.layerWith({ prefix: TABLE_PREFIX })).pipe(
    Layer.provide(sqlLayer(storage)),
    Layer.retry(Schedule.spaced("250 millis").pipe(Schedule.intersect(Schedule.recurs(8))))
  )

/**
 * Sharding for a runner: listens on `listen`, tells the others to reach it at `advertise`.
 * @internal
 */
export const layerRunner = (options: {
  readonly storage: Storage
  readonly listen: Address
  readonly advertise: Address
  readonly tuning: Tuning
}): Layer.Layer<Sharding.Sharding, SocketServer.SocketServerError | SqlError | ConfigError> => {
  const health = RunnerHealth.layerPing.pipe(
    Layer.provide(Runners.layerRpc),
    Layer.provide(NodeClusterSocket.layerClientProtocol)
  )
  return SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol, health]),
    Layer.provide(storageLayers(options.storage)),
    Layer.provide(config(options.tuning, Option.some({ listen: options.listen, advertise: options.advertise }))),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
}

/**
 * Sharding for a client: sends to runners, runs no entity.
 * @internal
 */
export const layerClient = (options: {
  readonly storage: Storage
  readonly tuning: Tuning
}): Layer.Layer<Sharding.Sharding, SqlError | ConfigError> =>
  SocketRunner.layerClientOnly.pipe(
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provide(storageLayers(options.storage)),
    Layer.provide(config(options.tuning, Option.none())),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
