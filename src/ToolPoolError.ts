/**
 * The typed failures of a tool pool. Every operation fails with a member of
 * {@link ToolPoolError}; each carries what a caller needs to act on it or to
 * report it (instance id, pid, command, exit code, signal, stderr tail).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

const tail = (stderrTail: string): string =>
  stderrTail.length === 0 ? "" : `; stderr tail: ${JSON.stringify(stderrTail)}`

/**
 * The pool's options were rejected before anything was spawned.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  /** Dotted path of the offending option, e.g. `instances` or `framing.pattern`. */
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `invalid option ${this.field}: ${this.reason}`
  }
}

/**
 * Why an instance could not be started.
 *
 * @since 0.1.0
 * @category models
 */
export type SpawnFailure =
  | "NotFound"
  | "PermissionDenied"
  | "BadCwd"
  | "ExitedAtStartup"
  | "HandshakeFailed"
  | "StartTimeout"
  | "Unsupported"
  | "Unknown"

/**
 * An instance could not be started: missing executable, bad working directory,
 * no permission, an exit before it became ready, or no readiness in time.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpawnError extends Data.TaggedError("SpawnError")<{
  readonly instance: number
  readonly command: string
  readonly cwd: string
  readonly reason: SpawnFailure
  readonly detail: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stderrTail: string
}> {
  override get message(): string {
    return `instance ${this.instance} could not start ${JSON.stringify(this.command)} in ${this.cwd}: ` +
      `${this.reason} (${this.detail})${tail(this.stderrTail)}`
  }
}

/**
 * The instance id is not one of the pool's.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownInstance extends Data.TaggedError("UnknownInstance")<{
  readonly instance: number
  readonly instances: number
}> {
  override get message(): string {
    return `unknown instance ${this.instance}: the pool has instances 0..${this.instances - 1}`
  }
}

/**
 * The instance exists but has no live process to talk to (it exited, failed, or was stopped).
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceNotRunning extends Data.TaggedError("InstanceNotRunning")<{
  readonly instance: number
  readonly state: string
}> {
  override get message(): string {
    return `instance ${this.instance} is not running (state: ${this.state})`
  }
}

/**
 * A turn did not complete within its deadline. The response, if it comes later,
 * is not handed to the next caller.
 *
 * @since 0.1.0
 * @category errors
 */
export class TurnTimeout extends Data.TaggedError("TurnTimeout")<{
  readonly instance: number
  readonly pid: number | null
  readonly timeout: Duration.Duration
  /** `deadline`: the turn took too long in all; `inactivity`: the tool went silent for `timeout`. */
  readonly kind: "deadline" | "inactivity"
}> {
  override get message(): string {
    return this.kind === "inactivity"
      ? `instance ${this.instance} (pid ${this.pid}) wrote nothing for ${Duration.format(this.timeout)}`
      : `instance ${this.instance} (pid ${this.pid}) gave no response within ${Duration.format(this.timeout)}`
  }
}

/**
 * The instance's process exited while a caller waited on it.
 *
 * @since 0.1.0
 * @category errors
 */
export class InstanceExited extends Data.TaggedError("InstanceExited")<{
  readonly instance: number
  readonly pid: number | null
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stderrTail: string
}> {
  override get message(): string {
    const how = this.signal !== null ? `signal ${this.signal}` : `code ${this.exitCode}`
    return `instance ${this.instance} (pid ${this.pid}) exited with ${how}${tail(this.stderrTail)}`
  }
}

/**
 * Writing to the instance's stdin failed (for instance the tool closed its stdin).
 *
 * @since 0.1.0
 * @category errors
 */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{
  readonly instance: number
  readonly pid: number | null
  readonly detail: string
}> {
  override get message(): string {
    return `writing to instance ${this.instance} (pid ${this.pid}) failed: ${this.detail}`
  }
}

/**
 * A response grew past `maxResponseBytes`; its bytes were dropped up to the next frame boundary.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResponseTooLarge extends Data.TaggedError("ResponseTooLarge")<{
  readonly instance: number
  readonly pid: number | null
  readonly limit: number
}> {
  override get message(): string {
    return `instance ${this.instance} (pid ${this.pid}) sent a response larger than ${this.limit} bytes`
  }
}

/**
 * A JSON-RPC call was answered with an error.
 *
 * @since 0.1.0
 * @category errors
 */
export class RpcError extends Data.TaggedError("RpcError")<{
  readonly instance: number
  readonly method: string
  readonly code: number
  readonly detail: string
  readonly data: unknown
}> {
  override get message(): string {
    return `instance ${this.instance}: ${this.method} failed with error ${this.code}: ${this.detail}`
  }
}

/**
 * The tool stopped at a continuation prompt: it wants more input than the turn gave (an open
 * block or bracket). The turn fails; the instance is interrupted and re-synchronised.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncompleteInput extends Data.TaggedError("IncompleteInput")<{
  readonly instance: number
  readonly output: string
}> {
  override get message(): string {
    return `instance ${this.instance} asks for more input (continuation prompt)`
  }
}

/**
 * `submit` could not get an instance: its wait queue was full (`maxQueue`), or no instance
 * became free within the acquire timeout.
 *
 * @since 0.1.0
 * @category errors
 */
export class PoolBusy extends Data.TaggedError("PoolBusy")<{
  readonly queued: number
  readonly reason: string
}> {
  override get message(): string {
    return `the pool is busy: ${this.reason} (${this.queued} waiting)`
  }
}

/**
 * No instance can serve, and none will within the caller's acquire timeout: every one is
 * cooling down after too many restarts, or failed for good (or exited, under a policy that does
 * not restart). `submit` fails at once instead of waiting. `nextAttemptAt` is when the first
 * instance to cool down tries again (null when none will).
 *
 * @since 0.2.0
 * @category errors
 */
export class PoolUnavailable extends Data.TaggedError("PoolUnavailable")<{
  readonly reason: string
  readonly nextAttemptAt: Date | null
}> {
  override get message(): string {
    const next = this.nextAttemptAt === null
      ? "no instance will be started again"
      : `the next attempt is due at ${this.nextAttemptAt.toISOString()}`
    return `the pool cannot serve: ${this.reason}; ${next}`
  }
}

/**
 * The pool is shutting down or has shut down; it takes no more work.
 *
 * @since 0.1.0
 * @category errors
 */
export class PoolClosed extends Data.TaggedError("PoolClosed")<{}> {
  override get message(): string {
    return "the pool is shut down"
  }
}

/**
 * Every typed failure of the pool.
 *
 * @since 0.1.0
 * @category errors
 */
export type ToolPoolError =
  | ConfigError
  | SpawnError
  | UnknownInstance
  | InstanceNotRunning
  | TurnTimeout
  | InstanceExited
  | WriteFailed
  | ResponseTooLarge
  | RpcError
  | IncompleteInput
  | PoolBusy
  | PoolUnavailable
  | PoolClosed
