/**
 * One process of a pool (an incarnation of an instance slot): spawn, the fibers that drain
 * its output and feed its input, exit detection, and the escalating stop.
 *
 * Data flow: stdout bytes -> framing decoder -> `responses` inbox -> the caller of a turn.
 * Input: caller -> bounded `stdin` mailbox -> one long-lived feeder -> the process's stdin.
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { ExitInfo } from "../InstanceStatus.js"
import type { PoolOptions } from "../PoolOptions.js"
import { InstanceExited, RpcError, SpawnError, WriteFailed } from "../ToolPoolError.js"
import type { Deadline } from "./deadline.js"
import { bound } from "./deadline.js"
import type { Frame, RpcId, RpcRequest, RpcResponse } from "./framing/frame.js"
import type { Codec } from "./framing/index.js"
import { makeCodec } from "./framing/index.js"
import { Inbox } from "./inbox.js"
import type { ByteRing } from "./ring.js"
import { reapGroup, signalGroup } from "./terminate.js"

const EMPTY = new Uint8Array(0)

/** @internal */
export type Breakage = InstanceExited | WriteFailed

/** What an incarnation needs from its slot: identity, rings that outlive it, and callbacks. @internal */
export interface Host {
  readonly id: number
  readonly options: PoolOptions
  readonly executor: CommandExecutor.CommandExecutor
  readonly stderr: ByteRing
  readonly transcript: ByteRing
  /** Called once, as soon as the process has exited. */
  readonly onExit: (incarnation: Incarnation, exit: ExitInfo) => Effect.Effect<void>
  /** A notification from the tool (JSON-RPC framings). */
  readonly onNotification: (incarnation: Incarnation, method: string, params: unknown) => void
  /** Called once, when the instance became ready (or could not). */
  readonly onReady: (incarnation: Incarnation, error: SpawnError | undefined) => Effect.Effect<void>
}

/** @internal */
export interface Incarnation {
  readonly pid: number
  readonly startedAt: Date
  readonly scope: Scope.CloseableScope
  /** This process's framing state: decoder, encoder, start-up input. */
  readonly codec: Codec
  /** JSON-RPC calls waiting for their response, by id. */
  readonly calls: Map<RpcId, Deferred.Deferred<RpcResponse, Breakage>>
  /** Input not yet written; ending it closes the tool's stdin once the rest is written. */
  readonly stdin: Mailbox.Mailbox<Uint8Array>
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
  /** When the process last wrote anything (epoch ms), for the inactivity timeout. */
  lastOutputAt: number
  /** Responses still to come for turns whose callers gave up (timed out or were interrupted). */
  owed: number
  stopping: boolean
}

const spawnFailure = (host: Host, error: PlatformError): SpawnError => {
  const { options } = host
  const base = {
    instance: host.id,
    command: [options.command, ...options.args].join(" "),
    cwd: options.cwd ?? process.cwd(),
    exitCode: null,
    signal: null,
    stderrTail: ""
  }
  if (error._tag === "SystemError") {
    const reason = error.method === "access"
      ? "BadCwd"
      : error.reason === "NotFound"
      ? "NotFound"
      : error.reason === "PermissionDenied"
      ? "PermissionDenied"
      : "Unknown"
    return new SpawnError({ ...base, reason, detail: error.description ?? error.message })
  }
  return new SpawnError({ ...base, reason: "Unknown", detail: error.message })
}

const exitInfo = (result: Exit.Exit<CommandExecutor.ExitCode, PlatformError>): ExitInfo => {
  const at = new Date()
  if (Exit.isSuccess(result)) return { code: result.value, signal: null, at }
  // The executor reports a death by signal as a failure whose message names the signal.
  const text = String(Exit.isFailure(result) ? result.cause : "")
  const signal = /signal: (\w+)/.exec(text)?.[1] ?? "unknown"
  return { code: null, signal, at }
}

const buildCommand = (options: PoolOptions): Command.Command => {
  let command = Command.make(options.command, ...options.args).pipe(
    Command.env(options.env),
    Command.stdin("pipe")
  )
  if (!options.extendEnv) command = { ...command, extendEnv: false } as Command.Command
  if (options.cwd !== undefined) command = Command.workingDirectory(command, options.cwd)
  return command
}

/**
 * Spawns the process and starts its fibers. The spawn itself is uninterruptible so that a
 * process is never created without the incarnation that owns it being returned.
 * @internal
 */
export const spawn = (host: Host): Effect.Effect<Incarnation, SpawnError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      const { options } = host
      const scope = yield* Scope.make()
      const proc = yield* Command.start(buildCommand(options)).pipe(
        Scope.extend(scope),
        Effect.provideService(CommandExecutor.CommandExecutor, host.executor),
        Effect.mapError((error) => spawnFailure(host, error)),
        Effect.tapError(() => Scope.close(scope, Exit.void))
      )
      const inc: Incarnation = {
        pid: proc.pid,
        startedAt: new Date(),
        scope,
        codec: makeCodec(options.framing, options.maxResponseBytes),
        calls: new Map(),
        stdin: yield* Mailbox.make<Uint8Array>(options.stdinQueue),
        responses: new Inbox<Frame, Breakage>(options.responseQueue),
        ready: yield* Deferred.make<void, SpawnError>(),
        exited: yield* Deferred.make<ExitInfo>(),
        writeFailed: undefined,
        broken: undefined,
        broke: yield* Deferred.make<never, Breakage>(),
        watcher: undefined,
        lastOutputAt: Date.now(),
        owed: 0,
        stopping: false
      }
      const { codec } = inc
      // Output feeds the decoder; a silence timer, when the framing has one, flushes it.
      const activity = codec.flushAfter === undefined ? undefined : yield* Queue.sliding<void>(1)
      // Decoding is synchronous, a whole chunk of reads at a time; only handing the frames
      // over can wait (when too many responses are unread).
      const decode = (chunk: Chunk.Chunk<Uint8Array>, isStderr: boolean): Effect.Effect<void> => {
        let frames: Array<Frame> | undefined
        for (const bytes of chunk) {
          if (isStderr) host.stderr.push(bytes)
          host.transcript.push(bytes)
          if (isStderr && !codec.mergeStderr) continue
          inc.lastOutputAt = Date.now()
          activity?.unsafeOffer(undefined)
          const decoded = codec.decoder.push(bytes)
          if (decoded.length > 0) frames = frames === undefined ? decoded.slice() : frames.concat(decoded)
        }
        return frames === undefined ? Effect.void : route(host, inc, frames)
      }

      // Each output is pulled by a loop of its own for the whole life of the process. Pulling
      // (`Stream.toPull`) rather than `Stream.runForEachChunk` spares the sink's channel: a
      // reader then holds about 10 KB instead of 26 KB and a chunk takes fewer steps.
      const drain = (output: Stream.Stream<Uint8Array, PlatformError>, isStderr: boolean) =>
        Effect.flatMap(
          Scope.extend(Stream.toPull(output), scope),
          (pull) => Effect.forever(Effect.flatMap(pull, (chunk) => decode(chunk, isStderr)))
        ).pipe(Effect.ignore, restore, Effect.forkIn(scope))
      const stdout = yield* drain(proc.stdout, false)
      const stderr = yield* drain(proc.stderr, true)
      if (activity !== undefined && codec.flushAfter !== undefined) {
        yield* flushOnSilence(host, inc, activity, codec.flushAfter).pipe(restore, Effect.forkIn(scope))
      }

      const feeder = yield* runInto(feed(inc.stdin), proc.stdin).pipe(
        Effect.catchAll((error) =>
          Effect.gen(function*() {
            const failure = new WriteFailed({ instance: host.id, pid: inc.pid, detail: error.message })
            inc.writeFailed = failure
            // The answer to input written before may still be on its way, and the tool may be
            // exiting (the exit is then the better report): give both a moment.
            if (!(yield* within(Duration.millis(100), Deferred.await(inc.exited)))) yield* breakWith(inc, failure)
          })
        ),
        // Not tied to the scope: interrupting a feeder with a write in flight can surface an
        // unhandled EPIPE later. It ends by itself: at EOF, on a write error, or after the exit.
        restore,
        Effect.forkDaemon
      )

      const watcher = yield* proc.exitCode.pipe(
        Effect.exit,
        Effect.flatMap((result) =>
          Effect.gen(function*() {
            const info = exitInfo(result)
            yield* host.onExit(inc, info)
            yield* Deferred.succeed(inc.exited, info)
            // Let the last output arrive, but not forever: a child the tool left behind may
            // hold the pipes open.
            yield* within(Duration.millis(200), Fiber.await(Fiber.zip(stdout, stderr)))
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
            yield* endFeeder(inc, feeder).pipe(Effect.forkDaemon)
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
 * Everything queued for stdin, a batch at a time, until the mailbox ends. Each batch ends with
 * an empty write: the sink waits for 'drain' between the items of a chunk but not after the
 * last, so this is what makes a slow reader hold the feeder back. (A loop over `takeAll` like
 * `Mailbox.toStream`, not `Stream.fromQueue`, whose stages cost about 35 us per input.)
 */
const feed = (mailbox: Mailbox.Mailbox<Uint8Array>): Stream.Stream<Uint8Array> => {
  const loop: Channel.Channel<Chunk.Chunk<Uint8Array>> = Channel.flatMap(
    Channel.fromEffect(mailbox.takeAll),
    ([items, done]) => {
      const batch = Channel.write(Chunk.append(items, EMPTY))
      if (done) return items.length === 0 ? Channel.void : batch
      return Channel.zipRight(batch, loop)
    }
  )
  return Stream.fromChannel(loop)
}

/**
 * `Stream.run(stream, sink)`, with the channel run by pulling it on the caller's fiber: `Stream.run`
 * runs it in a fiber of its own, with a child scope and two Deferreds, which an instance's feeder
 * would keep for its whole life (about 7 KB of heap).
 */
const runInto = <A, E, E2>(
  stream: Stream.Stream<A, E>,
  sink: Sink.Sink<void, A, never, E2>
): Effect.Effect<void, E | E2> =>
  Effect.scoped(
    Effect.flatMap(Channel.toPull(Channel.pipeToOrFail(Stream.toChannel(stream), Sink.toChannel(sink))), (pull) => {
      // The sink emits nothing before it is done; pull until it is.
      const loop: Effect.Effect<void, E | E2> = Effect.flatMap(pull, (next) => Either.isLeft(next) ? Effect.void : loop)
      return loop
    })
  )

/**
 * Sends each frame where it belongs: turn results to the responses queue, JSON-RPC responses to
 * their caller, notifications to the pool, the tool's requests to the handler, and what the
 * framing skipped to the log.
 */
const route = (host: Host, inc: Incarnation, frames: ReadonlyArray<Frame>): Effect.Effect<void> => {
  let results: Array<Frame> | undefined
  let effects: Array<Effect.Effect<void>> | undefined
  for (const frame of frames) {
    switch (frame._tag) {
      case "RpcResponse": {
        const call = frame.id === null ? undefined : inc.calls.get(frame.id)
        if (call !== undefined && frame.id !== null) {
          inc.calls.delete(frame.id)
          Deferred.unsafeDone(call, Effect.succeed(frame))
        } else {
          ;(effects ??= []).push(Effect.logDebug(`response to no pending call: ${frame.text.slice(0, 200)}`))
        }
        break
      }
      case "RpcNotification":
        host.onNotification(inc, frame.method, frame.params)
        break
      case "RpcRequest":
        ;(effects ??= []).push(answer(host, inc, frame))
        break
      case "Skipped":
        ;(effects ??= []).push(Effect.logDebug(`output skipped (${frame.reason}): ${frame.text.slice(0, 200)}`))
        break
      default:
        ;(results ??= []).push(frame)
    }
  }
  const queued = results === undefined ? Effect.void : inc.responses.offerAll(results)
  return effects === undefined ? queued : Effect.zipRight(queued, Effect.all(effects, { discard: true }))
}

/** After `quiet` of silence, ends the response the decoder holds (quiet framing, prompt settle). */
const flushOnSilence = (
  host: Host,
  inc: Incarnation,
  activity: Queue.Queue<void>,
  quiet: Duration.Duration
): Effect.Effect<never> =>
  Effect.gen(function*() {
    yield* Queue.take(activity)
    // output came: wait until none has come for `quiet`
    while (Option.isSome(yield* Effect.timeoutOption(Queue.take(activity), quiet))) {
      // more output: keep waiting
    }
    const frame = inc.codec.decoder.flush?.()
    if (frame !== undefined) yield* route(host, inc, [frame])
  }).pipe(Effect.forever)

/** Answers a request the tool made, with the framing's handler or "method not found". */
const answer = (host: Host, inc: Incarnation, request: RpcRequest): Effect.Effect<void> => {
  const rpc = inc.codec.rpc
  if (rpc === undefined) return Effect.void
  const handler = host.options.framing._tag === "JsonRpc" ? host.options.framing.onRequest : undefined
  const reply = handler === undefined
    ? Effect.succeed(rpc.respondError(request.id, { code: -32601, message: `method not found: ${request.method}` }))
    : Effect.tryPromise(async () => handler({ method: request.method, params: request.params })).pipe(
      Effect.map((result) => rpc.respond(request.id, result)),
      Effect.catchAll((error) =>
        Effect.succeed(rpc.respondError(request.id, { code: -32603, message: String(error.error ?? error) }))
      )
    )
  // not awaited by the reader: a slow handler must not hold up the output
  return reply.pipe(
    Effect.flatMap((bytes) => write(inc, bytes)),
    Effect.ignore,
    Effect.forkIn(inc.scope),
    Effect.asVoid
  )
}

/**
 * One JSON-RPC call: a request with a fresh id, and the response with that id. Calls to one
 * instance may overlap; each gets its own answer whatever the order they come in.
 * @internal
 */
export const call = <T = never>(
  host: Host,
  inc: Incarnation,
  method: string,
  params: unknown,
  deadline?: Deadline<T>
): Effect.Effect<unknown, Breakage | RpcError | T> =>
  Effect.suspend(() => {
    const rpc = inc.codec.rpc
    if (rpc === undefined) return Effect.dieMessage("call on an instance without a JSON-RPC framing")
    if (inc.broken !== undefined) return Effect.fail(inc.broken)
    const { bytes, id } = rpc.request(method, params)
    const response = Deferred.unsafeMake<RpcResponse, Breakage>(FiberId.none)
    inc.calls.set(id, response)
    return write(inc, bytes, deadline).pipe(
      Effect.zipRight(bound(deadline, Deferred.await(response))),
      Effect.flatMap((frame): Effect.Effect<unknown, RpcError> =>
        frame.error === undefined
          ? Effect.succeed(frame.result)
          : Effect.fail(
            new RpcError({
              instance: host.id,
              method,
              code: frame.error.code,
              detail: frame.error.message,
              data: frame.error.data
            })
          )
      ),
      Effect.ensuring(Effect.sync(() => inc.calls.delete(id)))
    )
  })

/** Marks the incarnation unable to answer and wakes whoever waits for a response. */
const breakWith = (inc: Incarnation, reason: Breakage): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (inc.broken !== undefined) return Effect.void
    inc.broken = reason
    inc.responses.fail(reason)
    for (const call of inc.calls.values()) Deferred.unsafeDone(call, Effect.fail(reason))
    inc.calls.clear()
    return Deferred.fail(inc.broke, reason)
  })

const endFeeder = (inc: Incarnation, feeder: Fiber.RuntimeFiber<void>): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* inc.stdin.end
    yield* Fiber.await(feeder).pipe(Effect.timeout("1 second"), Effect.ignore)
    yield* Fiber.interrupt(feeder)
    yield* inc.stdin.shutdown
  })

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
        : cause._tag === "RpcError"
        ? failure("HandshakeFailed", cause.message, undefined)
        : failure("ExitedAtStartup", "the tool exited before it was ready", yield* Deferred.await(inc.exited))
    }
    yield* error === undefined ? Deferred.succeed(inc.ready, undefined) : Deferred.fail(inc.ready, error)
    yield* host.onReady(inc, error)
  })

/**
 * The next response of the incarnation, in order (waiting until the deadline, if any). Fails
 * once the instance is broken and every response that came before the breakage has been taken.
 * @internal
 */
export const takeFrame = <T = never>(inc: Incarnation, deadline?: Deadline<T>): Effect.Effect<Frame, Breakage | T> =>
  inc.responses.take(deadline)

/** Drops every response that nobody has asked for yet; returns how many. @internal */
export const discardUnread = (inc: Incarnation): Effect.Effect<number> => Effect.sync(() => inc.responses.clear())

/**
 * Queues bytes for the process's stdin. Returns at once unless the mailbox is full, in which
 * case it waits (back-pressure) until there is room, the instance breaks, or the deadline.
 * @internal
 */
export const write = <T = never>(
  inc: Incarnation,
  bytes: Uint8Array,
  deadline?: Deadline<T>
): Effect.Effect<void, Breakage | T> =>
  Effect.suspend(() => {
    const failed = inc.broken ?? inc.writeFailed
    if (failed !== undefined) return Effect.fail(failed)
    if (inc.stdin.unsafeOffer(bytes)) return Effect.void
    return bound(
      deadline,
      Effect.raceFirst(
        Effect.flatMap(inc.stdin.offer(bytes), (accepted) => {
          if (accepted) return Effect.void
          // the mailbox ended: the instance is stopping or broke
          return Effect.flatMap(Deferred.await(inc.broke), () => Effect.void)
        }),
        Deferred.await(inc.broke)
      )
    )
  })

/**
 * Stops the process and everything it started: close stdin, wait `grace`; SIGTERM the group,
 * wait `killAfter`; SIGKILL the group. Whatever the tool does, this ends in about
 * grace + killAfter + a moment.
 * @internal
 */
export const stop = (inc: Incarnation, options: PoolOptions): Effect.Effect<void> =>
  Effect.gen(function*() {
    inc.stopping = true
    const exitedWithin = (duration: Duration.Duration) => within(duration, Deferred.await(inc.exited))
    if (!(yield* Deferred.isDone(inc.exited))) {
      // the feeder writes what is queued, then closes stdin
      yield* inc.stdin.end
      if (!(yield* exitedWithin(options.grace))) {
        yield* signalGroup(inc.pid, "SIGTERM")
        if (!(yield* exitedWithin(options.killAfter))) {
          yield* signalGroup(inc.pid, "SIGKILL")
          yield* exitedWithin(Duration.seconds(2))
        }
      }
    }
    // The tool is gone; its children may not be.
    yield* reapGroup(inc.pid, options.killAfter)
    // Let the exit be reported (to the caller of a turn in flight, among others) before the
    // scope goes, taking the watcher with it.
    if (inc.watcher !== undefined) yield* within(Duration.seconds(1), Fiber.await(inc.watcher))
    // The executor's own finalizer waits for the exit without a limit; never let it hold us.
    yield* within(Duration.seconds(1), Effect.disconnect(Scope.close(inc.scope, Exit.void)))
  }).pipe(Effect.uninterruptible)

/**
 * Whether `effect` completed within `duration`. The wait is interruptible even inside an
 * uninterruptible region (such as `stop`), or the timeout could not cut it short.
 * @internal
 */
export const within = <A>(duration: Duration.Duration, effect: Effect.Effect<A>): Effect.Effect<boolean> =>
  Effect.interruptible(effect).pipe(Effect.timeoutTo({ duration, onSuccess: () => true, onTimeout: () => false }))
