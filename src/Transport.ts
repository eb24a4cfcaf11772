/**
 * How an instance's process is reached: started, written to, read from, signalled and seen to
 * exit. The pool is one implementation over any transport; a transport is a thin adapter that
 * hooks the platform's callbacks at the edge, as `@effect/platform`'s `Worker` runs over a
 * `PlatformWorker`.
 *
 * - `pipes()`, the default: a Node child process with pipes, read with callbacks (no fiber per
 *   message).
 * - `commandExecutor`: `Command.start` from the `CommandExecutor` in the program's context, its
 *   output consumed as the platform's `Stream`s and its input fed through its `Sink`. Runs the
 *   pool over any executor: Node's, Bun's, or a fake one in a test.
 * - `pty(...)`: a pseudo-terminal (the optional dependency `node-pty`), for tools that need one.
 * - `scripted(...)`: processes in memory, answering from a function; what `ToolPoolTest` runs on.
 *
 * The transport is a pool option (`transport`); without it the pool takes the one in the Effect
 * context (`Transport.Current`, by default `pipes()`), so a test can swap it for every pool.
 *
 * @since 0.2.0
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as commandExecutorInternal from "./internal/process/commandExecutor.js"
import * as pipesInternal from "./internal/process/pipes.js"
import * as ptyInternal from "./internal/process/pty.js"
import * as scriptedInternal from "./internal/process/scripted.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("toolpool/Transport")

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What to start: the pool's `command`, `args`, `cwd` and environment.
 *
 * @since 0.2.0
 * @category models
 */
export interface Spec {
  /** The instance the process is for (for logs, and for scripted tools). */
  readonly instance: number
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string | undefined
  /** Variables added to the parent's environment, or the whole environment when `extendEnv` is false. */
  readonly env: Readonly<Record<string, string>>
  readonly extendEnv: boolean
}

/**
 * Why a process could not be started. `Unsupported`: the transport cannot run here (a missing
 * optional dependency, say); `detail` says what to do about it.
 *
 * @since 0.2.0
 * @category errors
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly reason: "NotFound" | "PermissionDenied" | "BadCwd" | "Unsupported" | "Unknown"
  readonly detail: string
}> {
  override get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}

/**
 * What a process tells the pool, as it happens. Output arrives in order, per stream; `exit`
 * comes once; `closed` once both output streams have delivered all they will.
 *
 * @since 0.2.0
 * @category models
 */
export interface Listener {
  readonly stdout: (bytes: Uint8Array) => void
  /** Never called by a terminal transport: a terminal has one output stream. */
  readonly stderr: (bytes: Uint8Array) => void
  readonly closed: () => void
  /** Writing to stdin failed (EPIPE: the tool closed its stdin or died). */
  readonly stdinError: (error: Error) => void
  readonly exit: (code: number | null, signal: string | null) => void
}

/**
 * A process's input.
 *
 * @since 0.2.0
 * @category models
 */
export interface Stdin {
  /** How many bytes were accepted and are not yet handed to the OS (0: a write goes straight out). */
  readonly buffered: () => number
  /** Writes `bytes`; `written` is called once they have left the transport's own buffer. */
  readonly write: (bytes: string | Uint8Array, written?: () => void) => void
  /** Closes the input once what was written has gone out. */
  readonly end: () => void
}

/**
 * A started process, as the pool drives it. Every method is synchronous and never throws.
 *
 * @since 0.2.0
 * @category models
 */
export interface Process {
  /** The OS pid, or a synthetic one (scripted processes: 10,000,000 and up). */
  readonly pid: number
  /** Output is one terminal stream: echo, CR LF and ANSI codes come with the tool's own output. */
  readonly terminal: boolean
  /**
   * The OS process group the tool leads, when it is a local process of this machine (absent
   * for in-memory and remote ones): the pool's lifeline ends that group if the pool's own
   * process dies without stopping it.
   */
  readonly group?: number | undefined
  /** Starts the flow of events; called once, right after the spawn. */
  readonly listen: (listener: Listener) => void
  readonly stdin: Stdin
  /**
   * Stops delivering output of one stream (the tool blocks on its writes once the OS buffer is
   * full), until `resume`. A terminal transport has only `stdout`.
   */
  readonly pause: (stream: "stdout" | "stderr") => void
  readonly resume: (stream: "stdout" | "stderr") => void
  /**
   * Sends `signal` to the process alone, or to its process group (the tool and what it started).
   * Signal 0 asks whether anything of the target is left. False when nothing was there.
   */
  readonly signal: (signal: NodeJS.Signals | 0, target: "process" | "group") => boolean
  /** Interrupts the tool's current work as a user would: SIGINT, or ^C on a terminal. */
  readonly interrupt: () => void
}

/**
 * A way to start processes. `spawn` holds what it needs in the given `Scope`; closing it
 * releases that without waiting for the process (the pool stops the process first).
 *
 * @since 0.2.0
 * @category models
 */
export interface Transport {
  readonly [TypeId]: TypeId
  /** For logs and status: `"pipes"`, `"command-executor"`, `"pty"`, `"scripted"`. */
  readonly name: string
  readonly spawn: (spec: Spec) => Effect.Effect<Process, TransportError, Scope.Scope>
}

/**
 * Node's child process with pipes: the tool leads its own process group, and its output is read
 * with callbacks, no fiber per message. The default.
 *
 * @since 0.2.0
 * @category constructors
 */
export const pipes: () => Transport = pipesInternal.pipes

/**
 * The design card's path: each process `Command.start`ed from the `CommandExecutor` in the
 * context where this is run, in the instance's own `Scope`; stdout and stderr consumed as the
 * platform's `Stream`s, stdin fed through its `Sink`. With a real executor, signals reach the
 * process group directly; with any other (a fake in a test), they go through `Process.kill`.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Framing, ToolPool, Transport } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   const transport = yield* Transport.commandExecutor
 *   const pool = yield* ToolPool.make({ command: "cat", instances: 1, framing: Framing.lines(), transport })
 *   return yield* pool.request(0, "hello") // "hello"
 * })
 *
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const commandExecutor: Effect.Effect<Transport, never, CommandExecutor.CommandExecutor> =
  commandExecutorInternal.commandExecutor

/**
 * Options of a pseudo-terminal.
 *
 * @since 0.2.0
 * @category models
 */
export interface PtyOptions {
  /** Columns of the terminal (default 200: fewer wrapped lines to undo). */
  readonly cols?: number
  /** Rows of the terminal (default 50). */
  readonly rows?: number
}

/**
 * A pseudo-terminal, through the optional dependency `node-pty`: for tools that behave
 * differently, or not at all, without a terminal (debuggers, `python3 -i` with its prompts).
 * Output is the terminal's one stream, so use a framing that strips the echo and ANSI codes
 * (`Framing.prompt`); the interrupt is ^C. Without `node-pty` installed, spawning fails with a
 * `SpawnError` (reason `Unsupported`, from the transport's `TransportError`) that says how to
 * install it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const pty: (options?: PtyOptions) => Transport = ptyInternal.pty

/**
 * What a scripted process can do.
 *
 * @since 0.2.0
 * @category models
 */
export interface ScriptedIo {
  /** Synthetic, 10,000,000 and up: beyond any real pid, distinct per process. */
  readonly pid: number
  /** What the pool asked to start (command, args, the instance it is for). */
  readonly spec: Spec
  /** Writes output; waits while the pool holds the output back (too many unread responses). */
  readonly stdout: (text: string | Uint8Array) => Effect.Effect<void>
  readonly stderr: (text: string | Uint8Array) => Effect.Effect<void>
  /** Ends the process with an exit code, or killed by a signal (`code` null). */
  readonly exit: (code: number | null, signal?: NodeJS.Signals) => Effect.Effect<void>
}

/**
 * A scripted tool: `start` runs once per process and returns what the process does with each
 * write to its stdin (one call per write, in order, one at a time). A SIGINT (or `interrupt`)
 * interrupts the call in progress; SIGTERM and SIGKILL end the process, as does the end of its
 * stdin once every write before it is handled. Runs on the pool's fibers and clock, so a
 * `TestClock` drives its sleeps.
 *
 * @since 0.2.0
 * @category models
 */
export interface Script {
  readonly start: (io: ScriptedIo) => Effect.Effect<(input: string) => Effect.Effect<void>>
  /** Signals the process ignores (a tool that ignores SIGTERM, say). SIGKILL cannot be ignored. */
  readonly ignore?: ReadonlyArray<NodeJS.Signals>
}

/**
 * Processes in memory, for tests: the real pool over a scripted edge. Crashes (`io.exit`),
 * hangs (`Effect.never`), slow and chunked output (`io.stdout` several times, with sleeps) are
 * all the script's to say.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Framing, ToolPool, Transport } from "toolpool"
 *
 * // a line-echo tool, upper-casing what it gets
 * const shout = Transport.scripted({
 *   start: (io) => Effect.succeed((input: string) => io.stdout(input.toUpperCase()))
 * })
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ToolPool.make({ command: "shout", framing: Framing.lines(), transport: shout })
 *   return yield* pool.request(0, "hello") // "HELLO"
 * })
 *
 * Effect.runPromise(Effect.scoped(program))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const scripted: (script: Script) => Transport = scriptedInternal.scripted

/**
 * The transport a pool uses when its options name none. `pipes()` unless the context says
 * otherwise.
 *
 * @since 0.2.0
 * @category context
 */
export class Current extends Context.Reference<Current>()("toolpool/Transport/Current", {
  defaultValue: (): Transport => pipesInternal.pipes()
}) {}

/**
 * Makes `transport` the default of every pool built with this layer provided.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (transport: Transport): Layer.Layer<never> => Layer.succeed(Current, transport)

/**
 * Whether a value is a `Transport`.
 *
 * @since 0.2.0
 * @category guards
 */
export const isTransport = (u: unknown): u is Transport => typeof u === "object" && u !== null && TypeId in u
