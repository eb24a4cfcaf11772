/**
 * What goes in and out of one incarnation once it runs: writes to its stdin, the responses it
 * has framed, JSON-RPC calls and the answers to the tool's own requests, and its breakage.
 * `instance.ts` starts the process and feeds its output here; `stop.ts` ends it.
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import { ResponseTooLarge, RpcError } from "../../ToolPoolError.js"
import type { Frame, RpcId, RpcRequest, RpcResponse } from "../framing/frame.js"
import type { Input } from "../process/stdin.js"
import type { Deadline } from "../turn/deadline.js"
import { bound, wait } from "../turn/deadline.js"
import type { Breakage, Host, Incarnation } from "./instance.js"

/**
 * A JSON-RPC response over `maxResponseBytes` fails the call it answers: the one its id names,
 * or, when its start did not give the id, the only call pending. Otherwise it is dropped, and
 * the calls pending keep their own deadlines.
 */
export const failTooLarge = (
  host: Host,
  inc: Incarnation,
  id: RpcId | undefined,
  run: (effect: Effect.Effect<void>) => unknown
): void => {
  const answered = id ?? (inc.calls.size === 1 ? inc.calls.keys().next().value : undefined)
  const call = answered === undefined ? undefined : inc.calls.get(answered)
  if (call === undefined || answered === undefined) {
    const which = id === undefined ? "no id found" : `id ${JSON.stringify(id)}`
    run(Effect.logDebug(`response over maxResponseBytes (${which}) to no pending call: dropped`))
    return
  }
  inc.calls.delete(answered)
  const error = new ResponseTooLarge({ instance: host.id, pid: inc.pid, limit: host.options.maxResponseBytes })
  Deferred.unsafeDone(call, Effect.fail(error))
}

/** Answers a request the tool made, with the framing's handler or "method not found". */
export const answer = (host: Host, inc: Incarnation, request: RpcRequest): Effect.Effect<void> => {
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
    Effect.ignore
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
): Effect.Effect<unknown, Breakage | ResponseTooLarge | RpcError | T> =>
  Effect.suspend(() => {
    const rpc = inc.codec.rpc
    if (rpc === undefined) return Effect.dieMessage("call on an instance without a JSON-RPC framing")
    if (inc.broken !== undefined) return Effect.fail(inc.broken)
    const { bytes, id } = rpc.request(method, params)
    const response = Deferred.unsafeMake<RpcResponse, Breakage | ResponseTooLarge>(FiberId.none)
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

/** Marks the incarnation unable to answer and wakes whoever waits for a response. @internal */
export const breakWith = (inc: Incarnation, reason: Breakage): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (inc.broken !== undefined) return Effect.void
    inc.broken = reason
    inc.stdin.abort()
    inc.responses.fail(reason)
    for (const call of inc.calls.values()) Deferred.unsafeDone(call, Effect.fail(reason))
    inc.calls.clear()
    return Deferred.fail(inc.broke, reason)
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
 * Writes bytes to the process's stdin. Returns at once unless too many writes are still in the
 * pipe's buffer, in which case it waits (back-pressure) until they drain, the instance breaks,
 * or the deadline. `onWritten` is called the moment the bytes go to the pipe: a caller
 * interrupted while it is being woken up still learns that its input went out.
 * @internal
 */
export const write = <T = never>(
  inc: Incarnation,
  bytes: Input,
  deadline?: Deadline<T>,
  onWritten?: () => void
): Effect.Effect<void, Breakage | T> =>
  Effect.suspend(() => {
    const failed = inc.broken ?? inc.writeFailed
    if (failed !== undefined) return Effect.fail(failed)
    if (inc.stdin.tryWrite(bytes)) {
      onWritten?.()
      return Effect.void
    }
    // Refused once stdin ended: the instance is stopping or broke, and says which when it has.
    const refused = bound(deadline, Effect.flatMap(Deferred.await(inc.broke), () => Effect.void))
    return wait<void, Breakage | T, T>(deadline, (wake) =>
      inc.stdin.enqueue(bytes, (written) => {
        if (written) onWritten?.()
        wake(written ? Effect.void : refused)
      }))
  })
