/**
 * The pool's own `CommandExecutor` for Node. It starts a `Command` as the platform's executor
 * does (detached, so the tool leads its own process group; cwd checked first; the same
 * `Process` value), and it also hands the instance the pipes themselves (`pipesOf`).
 *
 * Why not the platform's executor: its pipes are a `Stream` and a `Sink`, and every message
 * through them runs a channel and a fiber of its own. Measured in-process while this was written
 * (bench/README.md says how far to trust such figures), writing
 * one line through the `Sink` cost about 45 us of CPU and reading one chunk about 15 us, against
 * a few microseconds for the whole exchange in plain Node; and the two reader fibers and the
 * feeder held most of an idle instance's heap. With the pipes, the instance reads with a 'data'
 * listener and writes with `write`, and no fiber runs for the I/O at all (see `instance.ts`).
 *
 * Two differences from the platform's executor, both on purpose: closing the scope of a process
 * still running sends SIGTERM to its group without waiting for the exit (the wait has no limit
 * there, EFFECT-NOTES 1; the instance has escalated to SIGKILL before it closes the scope), and
 * an error on a pipe never goes unheard (a listener is always attached, EFFECT-NOTES 6).
 * @internal
 */
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import { SystemError } from "@effect/platform/Error"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { access } from "node:fs/promises"
import type { Readable, Writable } from "node:stream"

/** The pipes of a process started by {@link executor}. @internal */
export interface Pipes {
  readonly stdin: Writable
  readonly stdout: Readable
  readonly stderr: Readable
}

const pipes = new WeakMap<CommandExecutor.Process, Pipes>()

/** The pipes of `process`, if {@link executor} started it. @internal */
export const pipesOf = (process: CommandExecutor.Process): Pipes | undefined => pipes.get(process)

const reasonOf = (code: unknown): SystemError["reason"] =>
  code === "ENOENT" ? "NotFound" : code === "EACCES" || code === "EPERM" ? "PermissionDenied" : "Unknown"

const failure = (module: "Command" | "FileSystem", method: string, error: unknown, path: string) => {
  const cause = error instanceof Error ? error : new Error(String(error))
  return new SystemError({
    module,
    method,
    reason: reasonOf((cause as NodeJS.ErrnoException).code),
    pathOrDescriptor: path,
    description: cause.message,
    cause
  })
}

type ExitArgs = readonly [code: number | null, signal: NodeJS.Signals | null]

const signalGroup = (handle: ChildProcess, signal: NodeJS.Signals): boolean => {
  if (handle.pid === undefined) return false
  try {
    return process.kill(-handle.pid, signal)
  } catch {
    try {
      return handle.kill(signal)
    } catch {
      return false
    }
  }
}

const ProcessProto = {
  [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
  ...Inspectable.BaseProto,
  toJSON(this: CommandExecutor.Process) {
    return { _id: "@effect/platform/CommandExecutor/Process", pid: this.pid }
  }
}

const start = (command: Command.Command): Effect.Effect<CommandExecutor.Process, PlatformError, never> =>
  Effect.dieMessage(`toolpool starts single commands only, not ${command._tag}`)

const startStandard = (command: Command.StandardCommand) =>
  Effect.gen(function*() {
    const cwd = Option.getOrUndefined(command.cwd)
    if (cwd !== undefined) {
      yield* Effect.tryPromise({
        try: () => access(cwd),
        catch: (error) => failure("FileSystem", "access", error, cwd)
      })
    }
    const exited = yield* Deferred.make<ExitArgs>()
    const handle = yield* Effect.acquireRelease(
      Effect.async<ChildProcess, PlatformError>((resume) => {
        const handle = spawn(command.command, command.args, {
          stdio: ["pipe", "pipe", "pipe"],
          cwd,
          shell: command.shell,
          env: command.extendEnv
            ? { ...process.env, ...Object.fromEntries(command.env) }
            : Object.fromEntries(command.env),
          detached: process.platform !== "win32"
        })
        handle.on("error", (error) => resume(Effect.fail(failure("Command", "spawn", error, command.command))))
        handle.on("exit", (code, signal) => Deferred.unsafeDone(exited, Effect.succeed([code, signal] as const)))
        handle.on("spawn", () => resume(Effect.succeed(handle)))
        // An error on a pipe (EPIPE once the tool is gone) is the instance's to report; never
        // let it reach the process as an unhandled 'error'.
        for (const pipe of [handle.stdin, handle.stdout, handle.stderr]) pipe?.on("error", () => {})
      }),
      (handle) =>
        Effect.flatMap(Deferred.isDone(exited), (done) =>
          Effect.sync(() => {
            if (!done) signalGroup(handle, "SIGTERM")
            // A child the tool left behind may hold the pipes open; they are no use to anyone now.
            for (const pipe of [handle.stdin, handle.stdout, handle.stderr]) pipe?.destroy()
          }))
    )
    const { stderr, stdin, stdout } = handle
    if (stdin === null || stdout === null || stderr === null) {
      return yield* Effect.dieMessage("a process started with piped stdio has no pipes")
    }
    const onError = (method: string) => (error: unknown) => failure("Command", method, error, command.command)
    const exitCode = Effect.flatMap(Deferred.await(exited), ([code, signal]) =>
      code !== null
        ? Effect.succeed(CommandExecutor.ExitCode(code))
        : Effect.fail(
          failure(
            "Command",
            "exitCode",
            new Error(`Process interrupted due to receipt of signal: ${signal}`),
            command.command
          )
        ))
    const proc: CommandExecutor.Process = Object.assign(Object.create(ProcessProto), {
      pid: CommandExecutor.ProcessId(handle.pid ?? -1),
      exitCode,
      isRunning: Effect.map(Deferred.isDone(exited), (done) => !done),
      kill: (signal: CommandExecutor.Signal = "SIGTERM") =>
        Effect.zipRight(Effect.sync(() => signalGroup(handle, signal)), Effect.asVoid(Deferred.await(exited))),
      stdin: NodeSink.fromWritable(() => stdin, onError("toWritable")),
      stdout: NodeStream.fromReadable(() => stdout, onError("fromReadable(stdout)")),
      stderr: NodeStream.fromReadable(() => stderr, onError("fromReadable(stderr)"))
    })
    pipes.set(proc, { stdin, stdout, stderr })
    return proc
  })

/**
 * Starts a `Command` as a child process that leads its own process group.
 * @internal
 */
export const executor: CommandExecutor.CommandExecutor = CommandExecutor.makeExecutor((command) =>
  command._tag === "StandardCommand" ? startStandard(command) : start(command)
)
