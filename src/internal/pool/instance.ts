/**
 * One process of a pool (an incarnation of an instance slot): spawn, its output, exit detection
 * and readiness. Its input and calls are in `io.ts`, its escalating stop in `stop.ts`.
 *
 * Data flow: the transport's output callbacks -> framing decoder -> `responses` inbox -> the
 * caller of a turn. Input: caller -> `stdin` (written to the transport at once, or queued while
 * it is full). No fiber runs for the I/O: the transport calls back (`Transport.ts`).
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type { ExitInfo } from "../../InstanceStatus.js"
import type { PoolOptions } from "../../PoolOptions.js"
import type { ResponseTooLarge } from "../../ToolPoolError.js"
import { InstanceExited, SpawnError, WriteFailed } from "../../ToolPoolError.js"
import type * as Transport from "../../Transport.js"
import type { Frame, RpcId, RpcResponse } from "../framing/frame.js"
import type { Codec } from "../framing/index.js"
import { makeCodec } from "../framing/index.js"
import { Inbox } from "../output/inbox.js"
import type { ByteRing } from "../output/ring.js"
import type { Lifeline } from "../process/lifeline.js"
import { Stdin } from "../process/stdin.js"
import { signalGroup, within } from "../process/terminate.js"
import { answer, breakWith, call, failTooLarge, takeFrame, write } from "./io.js"

/** @internal */
export type Breakage = InstanceExited | WriteFailed

/** What an incarnation needs from its slot: identity, rings that outlive it, and callbacks. @internal */
export interface Host {
  readonly id: number
  readonly options: PoolOptions
  /** How the process is started and reached. */
  readonly transport: Transport.Transport
  /** The pool's clock: start times and output times are read from it, so a `TestClock` drives them. */
  readonly clock: Clock.Clock
  readonly stderr: ByteRing
  readonly transcript: ByteRing
  /** Called with every chunk of output, stdout or stderr, before it is decoded (live streams). */
  readonly onOutput: (stream: "stdout" | "stderr", bytes: Uint8Array) => void
  /**
   * Called at once when the incarnation can no longer take input (a write failed: the tool
   * closed its stdin or died), before its exit is seen: it must leave the rotation now.
   */
  readonly onBroken: (incarnation: Incarnation, reason: string) => void
  /** Called once, as soon as the process has exited. */
  readonly onExit: (incarnation: Incarnation, exit: ExitInfo) => Effect.Effect<void>
  /** A notification from the tool (JSON-RPC framings). */
  readonly onNotification: (incarnation: Incarnation, method: string, params: unknown) => void
  /** Called once, when the instance became ready (or could not). */
  readonly onReady: (incarnation: Incarnation, error: SpawnError | undefined) => Effect.Effect<void>
  /**
   * Every incarnation of the pool not yet stopped (shared by its hosts): `spawn` adds, `stop`
   * removes. Whatever else goes wrong, the pool's shutdown stops what is left in it.
   */
  readonly live: Set<Incarnation>
  /** The pool's watchdog, which ends the tools' groups if the pool's process dies first. */
  readonly lifeline: Lifeline
}

/** @internal */
export interface Incarnation {
  readonly pid: number
  readonly startedAt: Date
  readonly scope: Scope.CloseableScope
  /** The process, as its transport reaches it. */
  readonly process: Transport.Process
  /** This process's framing state: decoder, encoder, start-up input. */
  readonly codec: Codec
  /** JSON-RPC calls waiting for their response, by id. */
  readonly calls: Map<RpcId, Deferred.Deferred<RpcResponse, Breakage | ResponseTooLarge>>
  /** The tool's stdin; ending it closes the pipe once what was written has gone out. */
  readonly stdin: Stdin
  /** Responses no turn has taken yet; failed with the breakage once the instance breaks. */
  readonly responses: Inbox<Frame, Breakage>
  /** Completed when the instance is ready to serve, or failed when it never will be. */
  readonly ready: Deferred.Deferred<void, SpawnError>
  /** Completed at the moment the process exits. */
  readonly exited: Deferred.Deferred<ExitInfo>
  /** Set when a write failed; later writes fail at once. */
  writeFailed: WriteFailed | undefined
  /** Why the instance can answer no more, once it cannot. */
  broken: Breakage | undefined
  /** Fails with `broken` when it is set, for those who wait on something else meanwhile. */
  readonly broke: Deferred.Deferred<never, Breakage>
  /** Observes the exit and reports it; stopping waits for it to be done. */
  watcher: Fiber.Fiber<void> | undefined
  /** When the process last wrote anything (epoch ms, the pool's clock), for the inactivity timeout. */
  lastOutputAt: number
  /** Responses still to come for turns whose callers gave up (timed out or were interrupted). */
  owed: number
  /** The pool has interrupted the tool to heal it: an exit now is the pool's doing. */
  healing: boolean
  stopping: boolean
  /** Completed when `stop` has finished; set by the first `stop`, which the others wait for. */
  stopped: Deferred.Deferred<void> | undefined
  /** The pool's incarnations not yet stopped, this one among them until `stop` ends. */
  readonly live: Set<Incarnation>
  readonly lifeline: Lifeline
}

const spawnFailure = (host: Host, error: Transport.TransportError): SpawnError =>
  new SpawnError({
    instance: host.id,
    command: [host.options.command, ...host.options.args].join(" "),
    cwd: host.options.cwd ?? process.cwd(),
    exitCode: null,
    signal: null,
    stderrTail: "",
    reason: error.reason,
    detail: error.detail
  })

const specOf = (instance: number, options: PoolOptions): Transport.Spec => ({
  instance,
  command: options.command,
  args: options.args,
  cwd: options.cwd,
  env: options.env,
  extendEnv: options.extendEnv
})

/**
 * Spawns the process and starts its fibers. The spawn itself is uninterruptible so that a
 * process is never created without an owner: `adopt` (when given) takes the incarnation before
 * anything can interrupt the caller, and the pool's `live` set holds it until it is stopped.
 * @internal
 */
export const spawn = (
  host: Host,
  adopt?: (inc: Incarnation) => Effect.Effect<unknown>
): Effect.Effect<Incarnation, SpawnError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { clock, options } = host
      const scope = yield* Scope.make()
      const proc = yield* host.transport.spawn(specOf(host.id, options)).pipe(
        Scope.extend(scope),
        Effect.mapError((error) => spawnFailure(host, error)),
        Effect.tapError(() => Scope.close(scope, Exit.void))
      )
      const inc: Incarnation = {
        pid: proc.pid,
        startedAt: new Date(clock.unsafeCurrentTimeMillis()),
        scope,
        process: proc,
        codec: makeCodec(options.framing, options.maxResponseBytes, proc.terminal),
        calls: new Map(),
        stdin: new Stdin(proc.stdin, options.stdinQueue),
        responses: new Inbox<Frame, Breakage>(options.responseQueue),
        ready: yield* Deferred.make<void, SpawnError>(),
        exited: yield* Deferred.make<ExitInfo>(),
        writeFailed: undefined,
        broken: undefined,
        broke: yield* Deferred.make<never, Breakage>(),
        watcher: undefined,
        lastOutputAt: clock.unsafeCurrentTimeMillis(),
        owed: 0,
        healing: false,
        stopping: false,
        stopped: undefined,
        live: host.live,
        lifeline: host.lifeline
      }
      host.live.add(inc)
      host.lifeline.hold(proc.group)
      if (adopt !== undefined) yield* adopt(inc)
      const { codec } = inc
      // Effects that output calls for (answers to the tool's requests, logs) run in the
      // incarnation's scope, so that they end with it.
      const run = yield* FiberSet.makeRuntime<never>().pipe(Scope.extend(scope))
      // Output feeds the decoder; a silence timer, when the framing has one, flushes it.
      const activity = codec.flushAfter === undefined ? undefined : yield* Queue.sliding<void>(1)
      // Decoding is synchronous, one chunk at a time. When too many responses are unread, the
      // output is paused until a turn takes some (the tool then blocks on its output): stdout,
      // and stderr with it when it is merged, so that the two stay in order.
      const decoded: ReadonlyArray<"stdout" | "stderr"> = codec.mergeStderr ? ["stdout", "stderr"] : ["stdout"]
      let paused = false
      const pause = () => {
        if (paused) return
        paused = true
        for (const stream of decoded) proc.pause(stream)
        inc.responses.onRoom(() => {
          paused = false
          for (const stream of decoded) proc.resume(stream)
        })
      }
      const onOutput = (isStderr: boolean) => (bytes: Uint8Array) => {
        if (isStderr) host.stderr.push(bytes)
        host.transcript.push(bytes)
        host.onOutput(isStderr ? "stderr" : "stdout", bytes)
        if (isStderr && !codec.mergeStderr) return
        inc.lastOutputAt = clock.unsafeCurrentTimeMillis()
        activity?.unsafeOffer(undefined)
        const frames = codec.decoder.push(bytes)
        if (frames.length > 0 && !route(host, inc, frames, run)) pause()
      }
      // The watcher lets the last output arrive after the exit: both streams closed.
      const outputsClosed = yield* Deferred.make<void>()
      const exitSeen = yield* Deferred.make<ExitInfo>()
      // A failed write (EPIPE: the tool closed its stdin or died) is reported once.
      const writeFailure = (error: Error) =>
        Effect.gen(function*() {
          const failure = new WriteFailed({ instance: host.id, pid: inc.pid, detail: error.message })
          inc.writeFailed = failure
          // Out of rotation now: no turn may be handed a process that cannot take input.
          host.onBroken(inc, failure.message)
          // The answer to input written before may still be on its way, and the tool may be
          // exiting (the exit is then the better report): give both a moment.
          if (yield* within(Duration.millis(100), Deferred.await(inc.exited))) return
          yield* breakWith(inc, failure)
          // A process that lives on without its stdin serves nobody; one whose exit went unheard
          // would hold its slot for ever. End it, and report its end, so that the restart path runs.
          if (yield* within(options.killAfter, Deferred.await(inc.exited))) return
          yield* signalGroup(proc, "SIGKILL")
          if (yield* within(Duration.seconds(2), Deferred.await(inc.exited))) return
          Deferred.unsafeDone(
            exitSeen,
            Effect.succeed({ code: null, signal: "SIGKILL", at: new Date(clock.unsafeCurrentTimeMillis()) })
          )
        })
      proc.listen({
        stdout: onOutput(false),
        stderr: onOutput(true),
        closed: () => Deferred.unsafeDone(outputsClosed, Effect.void),
        stdinError: (error) => {
          if (inc.writeFailed === undefined && inc.broken === undefined) run(writeFailure(error))
        },
        exit: (code, signal) =>
          Deferred.unsafeDone(
            exitSeen,
            Effect.succeed({
              code,
              signal: code === null ? signal ?? "unknown" : null,
              at: new Date(clock.unsafeCurrentTimeMillis())
            })
          )
      })
      if (activity !== undefined && codec.flushAfter !== undefined) {
        yield* flushOnSilence(host, inc, activity, codec.flushAfter, run, pause).pipe(restore, Effect.forkIn(scope))
      }

      const watcher = yield* Deferred.await(exitSeen).pipe(
        Effect.flatMap((info) =>
          Effect.gen(function*() {
            yield* host.onExit(inc, info)
            yield* Deferred.succeed(inc.exited, info)
            // Let the last output arrive, but not forever: a child the tool left behind may
            // hold the pipes open.
            yield* within(Duration.millis(200), Deferred.await(outputsClosed))
            yield* breakWith(
              inc,
              new InstanceExited({
                instance: host.id,
                pid: inc.pid,
                exitCode: info.code,
                signal: info.signal,
                stderrTail: host.stderr.text()
              })
            )
          })
        ),
        restore,
        Effect.forkIn(scope)
      )

      yield* awaitReadiness(host, inc).pipe(restore, Effect.forkIn(scope))
      inc.watcher = watcher
      return inc
    })
  )

/**
 * Sends each frame where it belongs: turn results to the responses queue, JSON-RPC responses
 * (and those too large) to their caller, notifications to the pool, the tool's requests to the
 * handler, and what the framing skipped to the log.
 */
const route = (
  host: Host,
  inc: Incarnation,
  frames: ReadonlyArray<Frame>,
  run: (effect: Effect.Effect<void>) => unknown
): boolean => {
  let room = true
  for (const frame of frames) {
    switch (frame._tag) {
      case "RpcResponse": {
        const call = frame.id === null ? undefined : inc.calls.get(frame.id)
        if (call !== undefined && frame.id !== null) {
          inc.calls.delete(frame.id)
          Deferred.unsafeDone(call, Effect.succeed(frame))
        } else {
          run(Effect.logDebug(`response to no pending call: ${frame.text.slice(0, 200)}`))
        }
        break
      }
      case "TooLarge":
        // No JSON-RPC call reads the responses queue: such a frame would only fill it.
        if (inc.codec.rpc === undefined) room = inc.responses.offer(frame)
        else failTooLarge(host, inc, frame.id, run)
        break
      case "RpcNotification":
        host.onNotification(inc, frame.method, frame.params)
        break
      case "RpcRequest":
        run(answer(host, inc, frame))
        break
      case "Skipped":
        run(Effect.logDebug(`output skipped (${frame.reason}): ${frame.text.slice(0, 200)}`))
        break
      default:
        room = inc.responses.offer(frame)
    }
  }
  return room
}

/**
 * After `quiet` of silence, ends the response the decoder holds (quiet framing, prompt settle);
 * `pause` stops the output when that response is one too many unread, as for any other.
 */
const flushOnSilence = (
  host: Host,
  inc: Incarnation,
  activity: Queue.Queue<void>,
  quiet: Duration.Duration,
  run: (effect: Effect.Effect<void>) => unknown,
  pause: () => void
): Effect.Effect<never> =>
  Effect.gen(function*() {
    yield* Queue.take(activity)
    // output came: wait until none has come for `quiet`
    while (Option.isSome(yield* Effect.timeoutOption(Queue.take(activity), quiet))) {
      // more output: keep waiting
    }
    const frame = inc.codec.decoder.flush?.()
    if (frame !== undefined && !route(host, inc, [frame], run)) pause()
  }).pipe(Effect.forever)

const awaitReadiness = (host: Host, inc: Incarnation): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { options } = host
    const { codec } = inc
    const failure = (
      reason: "ExitedAtStartup" | "StartTimeout" | "HandshakeFailed",
      detail: string,
      exit: ExitInfo | undefined
    ) =>
      new SpawnError({
        instance: host.id,
        command: [options.command, ...options.args].join(" "),
        cwd: options.cwd ?? process.cwd(),
        reason,
        detail,
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stderrTail: host.stderr.text()
      })
    const handshake = options.framing._tag === "JsonRpc" ? options.framing.handshake : undefined
    const startup = Effect.gen(function*() {
      for (const bytes of codec.startup) yield* write(inc, bytes)
      // The first frame is the banner: whatever the tool printed before it was ready.
      if (codec.waitsForBanner) yield* takeFrame(inc)
      if (handshake !== undefined) {
        yield* call(host, inc, handshake.method, handshake.params)
        if (handshake.notification !== undefined && codec.rpc !== undefined) {
          yield* write(inc, codec.rpc.notify(handshake.notification, handshake.notificationParams))
        }
      }
    })
    const outcome = yield* startup.pipe(Effect.timeout(options.startTimeout), Effect.either)
    let error: SpawnError | undefined
    if (outcome._tag === "Left") {
      const cause = outcome.left
      error = cause._tag === "TimeoutException"
        ? failure("StartTimeout", `not ready within ${Duration.format(options.startTimeout)}`, undefined)
        : cause._tag === "RpcError" || cause._tag === "ResponseTooLarge"
        ? failure("HandshakeFailed", cause.message, undefined)
        : failure("ExitedAtStartup", "the tool exited before it was ready", yield* Deferred.await(inc.exited))
    }
    yield* error === undefined ? Deferred.succeed(inc.ready, undefined) : Deferred.fail(inc.ready, error)
    yield* host.onReady(inc, error)
  })

export { within } from "../process/terminate.js"
export { call, discardUnread, takeFrame, write } from "./io.js"
export { stop } from "./stop.js"
