/**
 * The default transport: a Node child process with pipes, read with 'data' callbacks and written
 * with `write`, so that no fiber runs for the I/O at all.
 *
 * Why not the platform's `CommandExecutor` here: its pipes are a `Stream` and a `Sink`, and every
 * message through them runs a channel and a fiber of its own. Measured in-process when the pool
 * was first written (bench/README.md says how far to trust such figures), writing one line
 * through the `Sink` cost about 45 us of CPU and reading one chunk about 15 us, against a few
 * microseconds for the whole exchange in plain Node. That path is `commandExecutor.ts`, for those
 * who need the pool over another executor.
 *
 * The tool leads its own process group (spawned detached), so a signal to `-pid` reaches what it
 * started. An error on a pipe never goes unheard (EFFECT-NOTES 6): stdin's is reported to the
 * listener, the others end the stream.
 * @internal
 */
import * as Effect from "effect/Effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { access } from "node:fs/promises"
import type { Writable } from "node:stream"
import type * as Transport from "../../Transport.js"
import type { Edge } from "./transport.js"
import { errnoReason, makeTransport, processEnv, signalPid } from "./transport.js"

const start = (spec: Transport.Spec): Effect.Effect<Edge, Transport.TransportError> =>
  Effect.gen(function*() {
    if (spec.cwd !== undefined) {
      const cwd = spec.cwd
      yield* Effect.tryPromise({ try: () => access(cwd), catch: (error) => errnoReason(error, "BadCwd") })
    }
    return yield* Effect.async<ChildProcess, Transport.TransportError>((resume) => {
      const handle = spawn(spec.command, spec.args, {
        stdio: ["pipe", "pipe", "pipe"],
        cwd: spec.cwd,
        env: processEnv(spec),
        detached: process.platform !== "win32"
      })
      handle.on("error", (error) => resume(Effect.fail(errnoReason(error))))
      handle.on("spawn", () => resume(Effect.succeed(handle)))
      for (const pipe of [handle.stdin, handle.stdout, handle.stderr]) pipe?.on("error", () => {})
    }).pipe(Effect.flatMap(adapt))
  })

const adapt = (handle: ChildProcess): Effect.Effect<Edge> => {
  const { pid, stderr, stdin, stdout } = handle
  if (stdin === null || stdout === null || stderr === null || pid === undefined) {
    return Effect.dieMessage("a process started with piped stdio has no pipes")
  }
  // The exit is heard from the start and kept until someone listens: a tool killed between its
  // spawn and `listen` (the pool may yield to the event loop in between) would otherwise exit
  // unheard, and its instance would stay in rotation with a dead process (issue 17).
  let exit: { readonly code: number | null; readonly signal: NodeJS.Signals | null } | undefined
  let onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined
  handle.on("exit", (code, signal) => {
    exit = { code, signal }
    onExit?.(code, signal)
  })
  return Effect.succeed<Edge>({
    pid,
    group: pid,
    terminal: false,
    listen: (listener) => {
      let open = 2
      const onClose = () => {
        if (--open === 0) listener.closed()
      }
      stdout.on("data", listener.stdout).on("close", onClose)
      stderr.on("data", listener.stderr).on("close", onClose)
      stdin.on("error", listener.stdinError)
      onExit = listener.exit
      if (exit !== undefined) listener.exit(exit.code, exit.signal)
    },
    stdin: writableStdin(stdin),
    pause: (stream) => (stream === "stdout" ? stdout : stderr).pause(),
    resume: (stream) => (stream === "stdout" ? stdout : stderr).resume(),
    signal: (signal, target) => signalPid(pid, signal, target),
    interrupt: () => {
      signalPid(pid, "SIGINT", "process")
    },
    release: () => {
      // A child the tool left behind may hold the pipes open; they are no use to anyone now.
      for (const pipe of [stdin, stdout, stderr]) pipe.destroy()
    }
  })
}

/** A Node `Writable` as a process's input. @internal */
export const writableStdin = (pipe: Writable): Transport.Stdin => ({
  buffered: () => pipe.writableLength,
  write: (bytes, written) => {
    if (written === undefined) pipe.write(bytes)
    else pipe.write(bytes, () => written())
  },
  end: () => {
    pipe.end()
  }
})

/** @internal */
export const pipes = (): Transport.Transport => makeTransport("pipes", start)
