/**
 * The transport over the platform's `CommandExecutor`: each process is `Command.start`ed from the
 * executor captured where `Transport.commandExecutor` was run, in the scope `spawn` is given.
 *
 * - stdout and stderr are each run once, for the whole life of the process (EFFECT-NOTES 3), by
 *   a fiber forked in that scope; `pause` closes a latch that the fiber awaits before handing on
 *   each chunk, so the stream is no longer pulled and the OS pipe fills up behind it.
 * - stdin is one `Stream.fromQueue` run into the process's `Sink` (EFFECT-NOTES 4). Writes are
 *   synchronous, so the queue cannot refuse them: it is bounded by its caller, who counts the
 *   `written` callbacks and `buffered()` (the pool's `Stdin` holds at most `capacity` in flight).
 * - The exit comes from `exitCode`; a failure there means death by a signal (EFFECT-NOTES 8).
 * - Signals: a process of the platform's own Node executor is a real child leading its own
 *   group, and is signalled directly (synchronous, and signal 0 asks the OS). Any other executor
 *   (a fake, a remote one) gets `Process.kill`, and signal 0 is answered from the exit seen.
 * @internal
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Transport from "../../Transport.js"
import { procStat } from "./procfs.js"
import type { Edge } from "./transport.js"
import { makeTransport, signalPid } from "./transport.js"

/** @internal */
export const commandExecutor: Effect.Effect<Transport.Transport, never, CommandExecutor.CommandExecutor> = Effect.map(
  CommandExecutor.CommandExecutor,
  (executor) => makeTransport("command-executor", (spec) => start(executor, spec))
)

const start = (
  executor: CommandExecutor.CommandExecutor,
  spec: Transport.Spec
): Effect.Effect<Edge, Transport.TransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const process = yield* Command.start(toCommand(spec)).pipe(
      Effect.provideService(CommandExecutor.CommandExecutor, executor),
      Effect.mapError(spawnError)
    )
    const streamed = yield* StreamedProcess.make(process)
    return streamed.edge()
  })

const toCommand = (spec: Transport.Spec): Command.Command => {
  const command = Command.make(spec.command, ...spec.args).pipe(
    Command.env(spec.env, { extendEnv: spec.extendEnv }),
    Command.stdin("pipe")
  )
  return spec.cwd === undefined ? command : Command.workingDirectory(command, spec.cwd)
}

/** The executor checks the cwd with `FileSystem.access` before it spawns (EFFECT-NOTES 9). */
const spawnError = (error: PlatformError): Transport.TransportError => {
  const detail = error.message
  if (error._tag === "SystemError") {
    if (error.method === "access") return new Transport.TransportError({ reason: "BadCwd", detail })
    if (error.reason === "NotFound") return new Transport.TransportError({ reason: "NotFound", detail })
    if (error.reason === "PermissionDenied") return new Transport.TransportError({ reason: "PermissionDenied", detail })
  }
  return new Transport.TransportError({ reason: "Unknown", detail })
}

/** One write waiting in the stdin queue. */
interface Pending {
  readonly bytes: Uint8Array
  readonly written: (() => void) | undefined
}

/** Put in the stdin queue by `end`: what was queued before it goes out, then stdin closes. */
const End = Symbol("End")

const encoder = new TextEncoder()

/**
 * A started `CommandExecutor.Process` as the pool drives it. The state the callbacks share lives
 * here, and each thing the process does is a named method.
 */
class StreamedProcess {
  private listener: Transport.Listener | undefined = undefined
  private exited = false
  private queued = 0
  private inputOpen = true

  private constructor(
    private readonly process: CommandExecutor.Process,
    /** Opened by `listen`: nothing is read before someone hears it. */
    private readonly listening: Effect.Latch,
    private readonly gates: Record<"stdout" | "stderr", Effect.Latch>,
    private readonly input: Queue.Queue<Pending | typeof End>,
    private readonly runInScope: <A, E>(effect: Effect.Effect<A, E>) => void,
    /** Whether `pid` is our own child leading its own process group. */
    private readonly ownGroup: boolean
  ) {}

  static make(process: CommandExecutor.Process): Effect.Effect<StreamedProcess, never, Scope.Scope> {
    return Effect.gen(function*() {
      const run = yield* FiberSet.makeRuntime<never>()
      const self = new StreamedProcess(
        process,
        yield* Effect.makeLatch(false),
        { stdout: yield* Effect.makeLatch(true), stderr: yield* Effect.makeLatch(true) },
        yield* Queue.unbounded<Pending | typeof End>(),
        (effect) => {
          run(effect)
        },
        leadsOwnGroup(process.pid)
      )
      yield* Effect.forkScoped(self.listening.whenOpen(self.readOutput))
      yield* Effect.forkScoped(self.listening.whenOpen(self.awaitExit))
      // The feeder is a daemon, never interrupted: interrupting it with bytes still in Node's
      // buffer would leave a later EPIPE without a listener, which crashes the parent
      // (EFFECT-NOTES 6). Closing the scope ends its input instead; the sink then closes stdin,
      // and the feeder ends as soon as the pipe is flushed or broken (the process is stopped
      // before its scope closes).
      yield* Effect.forkDaemon(self.feedStdin)
      yield* Effect.addFinalizer(() => Queue.shutdown(self.input))
      return self
    })
  }

  edge(): Edge {
    return {
      pid: this.process.pid,
      group: this.ownGroup ? this.process.pid : undefined,
      terminal: false,
      listen: (listener) => this.listen(listener),
      stdin: {
        buffered: () => this.queued,
        write: (bytes, written) => this.write(bytes, written),
        end: () => this.end()
      },
      pause: (stream) => this.gates[stream].unsafeClose(),
      resume: (stream) => this.gates[stream].unsafeOpen(),
      signal: (signal, target) => this.signal(signal, target),
      interrupt: () => {
        this.signal("SIGINT", "process")
      },
      // The platform's own finalizer, in the same scope, owns the pipes and the child.
      release: () => {}
    }
  }

  private listen(listener: Transport.Listener): void {
    this.listener = listener
    this.listening.unsafeOpen()
  }

  /** Both output streams, each run once; `closed` when both have ended. */
  private get readOutput(): Effect.Effect<void> {
    return Effect.all([this.read("stdout"), this.read("stderr")], { concurrency: 2, discard: true }).pipe(
      Effect.andThen(() => this.listener?.closed())
    )
  }

  private read(name: "stdout" | "stderr"): Effect.Effect<void> {
    const gate = this.gates[name]
    const deliver = (bytes: Uint8Array) => gate.whenOpen(Effect.sync(() => this.listener?.[name](bytes)))
    // A read error ends the stream, as the end of the pipe would: the exit tells the rest.
    return Stream.runForEach(this.process[name], deliver).pipe(Effect.ignore)
  }

  private get awaitExit(): Effect.Effect<void> {
    return Effect.match(this.process.exitCode, {
      onSuccess: (code) => this.exit(code, null),
      onFailure: (error) => this.exit(null, signalOf(error))
    })
  }

  private exit(code: number | null, signal: string | null): void {
    this.exited = true
    this.listener?.exit(code, signal)
  }

  private write(bytes: string | Uint8Array, written: (() => void) | undefined): void {
    if (!this.inputOpen) {
      // Ended or broken: the bytes have nowhere to go, and nobody should wait for them.
      written?.()
      return
    }
    const encoded = typeof bytes === "string" ? encoder.encode(bytes) : bytes
    this.queued += encoded.length
    Queue.unsafeOffer(this.input, { bytes: encoded, written })
  }

  private end(): void {
    if (!this.inputOpen) return
    this.inputOpen = false
    Queue.unsafeOffer(this.input, End)
  }

  /** Called once the sink has taken `pending` (handed it to Node's stream). */
  private consumed(pending: Pending): void {
    this.queued -= pending.bytes.length
    pending.written?.()
  }

  private get feedStdin(): Effect.Effect<void> {
    const writes = Stream.fromQueue(this.input).pipe(
      Stream.takeWhile((item): item is Pending => item !== End),
      // The sink pulls the next element only once it has written this one, so the empty
      // stream after the bytes runs when the sink has taken them.
      Stream.flatMap((pending) =>
        Stream.concat(Stream.succeed(pending.bytes), Stream.execute(Effect.sync(() => this.consumed(pending))))
      )
    )
    return Stream.run(writes, this.process.stdin).pipe(
      Effect.catchAll((error) => this.stdinFailed(error))
    )
  }

  /** Refuses later writes and lets go of those still queued, as Node does after an EPIPE. */
  private stdinFailed(error: PlatformError): Effect.Effect<void> {
    this.inputOpen = false
    return Effect.map(Queue.takeAll(this.input), (left) => {
      for (const item of left) {
        if (item !== End) this.consumed(item)
      }
      this.listener?.stdinError(error)
    })
  }

  private signal(signal: NodeJS.Signals | 0, target: "process" | "group"): boolean {
    if (this.ownGroup) return signalPid(this.process.pid, signal, target)
    if (this.exited) return false
    // Not a process of ours (or not on Linux, where we can tell): the executor's own kill, which
    // knows no group of its own and waits for the exit; nobody waits for it here.
    if (signal !== 0) this.runInScope(this.process.kill(signal))
    return true
  }
}

/**
 * The platform fails `exitCode` with "Process interrupted due to receipt of signal: SIGKILL" when
 * the child died from a signal. Null when the failure says no signal (an executor's own error).
 */
const signalOf = (error: PlatformError): string | null => {
  const description = error._tag === "SystemError" ? error.description ?? "" : ""
  return /\b(SIG[A-Z0-9]+)\b/.exec(`${description} ${error.message}`)?.[1] ?? null
}

/**
 * Whether `pid` is our own child and leads its own process group, as a process spawned by the
 * platform's Node executor does (`detached`), from `/proc/<pid>/stat` (Linux).
 */
const leadsOwnGroup = (pid: number): boolean => {
  const stat = procStat(pid)
  return stat !== undefined && stat.ppid === process.pid && stat.pgrp === pid
}
