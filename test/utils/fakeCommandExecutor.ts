/**
 * A `CommandExecutor` of the user's own, as a test would write one: every command is an
 * in-memory process that echoes its stdin to its stdout, exits 0 when its stdin ends, and dies
 * of the signal it is sent. It records the commands it started and the signals it got.
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import { SystemError } from "@effect/platform/Error"
import type { PlatformError } from "@effect/platform/Error"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"

export interface FakeLog {
  readonly started: Array<{ readonly command: string; readonly args: ReadonlyArray<string> }>
  readonly signals: Array<CommandExecutor.Signal>
}

/** Far above any pid the OS hands out (Linux's pid_max is at most 2^22). */
let nextPid = 50_000_000

const echoProcess = (log: FakeLog): Effect.Effect<CommandExecutor.Process> =>
  Effect.gen(function*() {
    const output = yield* Queue.unbounded<Uint8Array | null>()
    const exit = yield* Deferred.make<CommandExecutor.ExitCode, PlatformError>()
    const finish = (result: Effect.Effect<CommandExecutor.ExitCode, PlatformError>) =>
      Effect.zipRight(Queue.offer(output, null), Deferred.complete(exit, result))
    const pid = CommandExecutor.ProcessId(nextPid++)
    return {
      [CommandExecutor.ProcessTypeId]: CommandExecutor.ProcessTypeId,
      pid,
      exitCode: Deferred.await(exit),
      isRunning: Effect.map(Deferred.isDone(exit), (done) => !done),
      kill: (signal = "SIGTERM") =>
        Effect.suspend(() => {
          log.signals.push(signal)
          return finish(
            Effect.fail(
              new SystemError({
                reason: "Unknown",
                module: "Command",
                method: "exitCode",
                description: `Process interrupted due to receipt of signal: ${signal}`
              })
            )
          )
        }),
      stdin: Sink.forEach((bytes: Uint8Array) => Queue.offer(output, bytes)).pipe(
        Sink.mapEffect(() => finish(Effect.succeed(CommandExecutor.ExitCode(0))))
      ),
      stdout: Stream.fromQueue(output).pipe(Stream.takeWhile((bytes): bytes is Uint8Array => bytes !== null)),
      stderr: Stream.empty,
      toJSON: () => ({ _id: "FakeProcess", pid }),
      toString: () => `FakeProcess(${pid})`,
      [Inspectable.NodeInspectSymbol]: () => ({ _id: "FakeProcess", pid })
    }
  })

export const fakeCommandExecutor = (log: FakeLog): Layer.Layer<CommandExecutor.CommandExecutor> =>
  Layer.succeed(
    CommandExecutor.CommandExecutor,
    CommandExecutor.makeExecutor((command) =>
      Effect.suspend(() => {
        for (const { args, command: name } of Command.flatten(command)) log.started.push({ command: name, args })
        return echoProcess(log)
      })
    )
  )
