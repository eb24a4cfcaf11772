/**
 * The failures of a turn sent through the cluster (`toolpool/Cluster`). They cross the wire
 * between runners and clients, so they are `Schema.TaggedError`s; a failure of the runner's
 * pool keeps the tag it has in `toolpool/ToolPoolError` (`TurnTimeout`, `InstanceExited`,
 * `PoolBusy`, ...) and names the runner that reported it. Two failures are the cluster's own:
 * `SessionReset` and `ClusterTimeout`.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Local from "./ToolPoolError.js"

const runner = { runner: Schema.String }
const pid = Schema.NullOr(Schema.Number)

const on = (error: { readonly runner: string }, local: { readonly message: string }): string =>
  `runner ${error.runner}: ${local.message}`

/**
 * The turn did not complete within its deadline on the runner (the pool's `TurnTimeout`).
 *
 * @since 0.2.0
 * @category errors
 */
export class TurnTimeout extends Schema.TaggedError<TurnTimeout>()("TurnTimeout", {
  ...runner,
  instance: Schema.Number,
  pid,
  timeout: Schema.DurationFromMillis,
  kind: Schema.Literal("deadline", "inactivity")
}) {
  override get message(): string {
    return on(this, new Local.TurnTimeout({ ...this }))
  }
}

/**
 * The instance's process exited under the turn (the pool's `InstanceExited`). The session's state
 * went with it: the next turn of the key fails with `SessionReset`.
 *
 * @since 0.2.0
 * @category errors
 */
export class InstanceExited extends Schema.TaggedError<InstanceExited>()("InstanceExited", {
  ...runner,
  instance: Schema.Number,
  pid,
  exitCode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  stderrTail: Schema.String
}) {
  override get message(): string {
    return on(this, new Local.InstanceExited({ ...this }))
  }
}

/**
 * The instance had no live process (the pool's `InstanceNotRunning`).
 *
 * @since 0.2.0
 * @category errors
 */
export class InstanceNotRunning extends Schema.TaggedError<InstanceNotRunning>()("InstanceNotRunning", {
  ...runner,
  instance: Schema.Number,
  state: Schema.String
}) {
  override get message(): string {
    return on(this, new Local.InstanceNotRunning({ ...this }))
  }
}

/**
 * Writing the input to the instance failed (the pool's `WriteFailed`).
 *
 * @since 0.2.0
 * @category errors
 */
export class WriteFailed extends Schema.TaggedError<WriteFailed>()("WriteFailed", {
  ...runner,
  instance: Schema.Number,
  pid,
  detail: Schema.String
}) {
  override get message(): string {
    return on(this, new Local.WriteFailed({ ...this }))
  }
}

/**
 * The response was larger than the runner pool's `maxResponseBytes` (the pool's `ResponseTooLarge`).
 *
 * @since 0.2.0
 * @category errors
 */
export class ResponseTooLarge extends Schema.TaggedError<ResponseTooLarge>()("ResponseTooLarge", {
  ...runner,
  instance: Schema.Number,
  pid,
  limit: Schema.Number
}) {
  override get message(): string {
    return on(this, new Local.ResponseTooLarge({ ...this }))
  }
}

/**
 * A JSON-RPC tool answered with an error (the pool's `RpcError`; its `data` travels as JSON).
 *
 * @since 0.2.0
 * @category errors
 */
export class RpcError extends Schema.TaggedError<RpcError>()("RpcError", {
  ...runner,
  instance: Schema.Number,
  method: Schema.String,
  code: Schema.Number,
  detail: Schema.String,
  data: Schema.Unknown
}) {
  override get message(): string {
    return on(this, new Local.RpcError({ ...this }))
  }
}

/**
 * The tool stopped at a continuation prompt (the pool's `IncompleteInput`).
 *
 * @since 0.2.0
 * @category errors
 */
export class IncompleteInput extends Schema.TaggedError<IncompleteInput>()("IncompleteInput", {
  ...runner,
  instance: Schema.Number,
  output: Schema.String
}) {
  override get message(): string {
    return on(this, new Local.IncompleteInput({ ...this }))
  }
}

/**
 * No instance was free in time (the pool's `PoolBusy`). For a keyless turn it means every runner
 * tried was busy until the acquire timeout.
 *
 * @since 0.2.0
 * @category errors
 */
export class PoolBusy extends Schema.TaggedError<PoolBusy>()("PoolBusy", {
  ...runner,
  queued: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return on(this, new Local.PoolBusy({ ...this }))
  }
}

/**
 * The runner's pool is shutting down (the pool's `PoolClosed`), or the client is.
 *
 * @since 0.2.0
 * @category errors
 */
export class PoolClosed extends Schema.TaggedError<PoolClosed>()("PoolClosed", runner) {
  override get message(): string {
    return on(this, new Local.PoolClosed())
  }
}

/**
 * The session of `key` was rebuilt since the caller's last turn: its runner stopped or died, its
 * shard moved to another runner, or its tool instance was restarted. Whatever state the tool
 * held for the key is gone. The turn was **not** run; the caller decides what to do (send the
 * context again, then the turn). `epoch` is the new session's: the next turn runs on it.
 *
 * @since 0.2.0
 * @category errors
 */
export class SessionReset extends Schema.TaggedError<SessionReset>()("SessionReset", {
  ...runner,
  key: Schema.String,
  /** The epoch the caller's last turn saw. */
  expected: Schema.String,
  /** The epoch of the session now. */
  epoch: Schema.String
}) {
  override get message(): string {
    return `runner ${this.runner}: the session of key ${JSON.stringify(this.key)} was rebuilt since the last turn ` +
      `(epoch ${this.expected} -> ${this.epoch}); the turn was not run`
  }
}

/**
 * No runner answered within the client's bound (no runner holds the key's shard, or the runner
 * went silent). The turn may or may not have run.
 *
 * @since 0.2.0
 * @category errors
 */
export class ClusterTimeout extends Schema.TaggedError<ClusterTimeout>()("ClusterTimeout", {
  key: Schema.NullOr(Schema.String),
  waited: Schema.DurationFromMillis
}) {
  override get message(): string {
    const target = this.key === null ? "a keyless turn" : `key ${JSON.stringify(this.key)}`
    return `no runner answered for ${target} within ${Duration.format(this.waited)}`
  }
}

/**
 * The failures that a runner sends back, as one schema.
 *
 * @since 0.2.0
 * @category schemas
 */
export const RunnerError = Schema.Union(
  TurnTimeout,
  InstanceExited,
  InstanceNotRunning,
  WriteFailed,
  ResponseTooLarge,
  RpcError,
  IncompleteInput,
  PoolBusy,
  PoolClosed,
  SessionReset
)

/**
 * A failure a runner sends back.
 *
 * @since 0.2.0
 * @category errors
 */
export type RunnerError = typeof RunnerError.Type

/**
 * Every failure of a cluster turn.
 *
 * @since 0.2.0
 * @category errors
 */
export type ClusterError = RunnerError | ClusterTimeout
