/**
 * The tool `ToolPoolTest` scripts: a scripted process (`process/scripted.ts`) that reads its
 * requests with the pool's own framing and answers from the user's `respond`, `script` and
 * `call`, framed the same way. So the test layer is the real pool, and only the tool is fake.
 *
 * An answer that fails does what a tool would do to make the real pool fail that way:
 * `InstanceExited` exits (its stderr tail written first), `ResponseTooLarge` writes a response
 * over `maxResponseBytes`, `TurnTimeout` never answers (the pool's deadline fails the turn),
 * `RpcError` answers a call with a JSON-RPC error. An interrupted answer (the pool sent SIGINT
 * after its caller gave up) is cut short with an empty response, as a REPL prints a fresh prompt.
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { PoolOptions } from "../PoolOptions.js"
import type { TurnError } from "../ToolPool.js"
import type { Options, Reply } from "../ToolPoolTest.js"
import type * as Transport from "../Transport.js"
import type { Frame, RpcRequest } from "./framing/frame.js"
import { makeCodec } from "./framing/index.js"

const encoder = new TextEncoder()

/** The replies of a script, by input, consumed in order; the last one stays. */
const scriptOf = (script: Options["script"]): Map<string, Array<Reply>> => {
  const replies = new Map<string, Array<Reply>>()
  if (script === undefined) return replies
  const entries: Iterable<readonly [string, Reply]> = Symbol.iterator in script
    ? script as Iterable<readonly [string, Reply]>
    : Object.entries(script)
  for (const [input, reply] of entries) {
    const list = replies.get(input)
    if (list === undefined) replies.set(input, [reply])
    else list.push(reply)
  }
  return replies
}

const isError = (reply: unknown): reply is TurnError => typeof reply === "object" && reply !== null && "_tag" in reply

/** @internal */
export const testTool = (testOptions: Options, options: PoolOptions): Transport.Script => {
  const replies = scriptOf(testOptions.script)
  const { call, respond } = testOptions
  const latency = testOptions.latency === undefined ? undefined : Duration.decode(testOptions.latency)

  return {
    start: (io) =>
      Effect.sync(() => {
        const codec = makeCodec(options.framing, Number.MAX_SAFE_INTEGER)
        const rpc = codec.rpc
        const instance = io.spec.instance
        const turn = {
          pid: io.pid,
          notify: (method: string, params?: unknown) =>
            rpc === undefined
              ? Effect.dieMessage("notify needs a JSON-RPC framing (give ToolPoolTest a call handler)")
              : io.stdout(rpc.notify(method, params))
        }
        const answerText = (input: string): Effect.Effect<string, TurnError> => {
          const queued = replies.get(input)
          if (queued !== undefined) {
            const reply = (queued.length > 1 ? queued.shift() : queued[0]) as Reply
            return isError(reply) ? Effect.fail(reply) : Effect.succeed(reply)
          }
          if (respond !== undefined) {
            return Effect.suspend(() => {
              const answer = respond(input, instance, turn)
              return typeof answer === "string" ? Effect.succeed(answer) : answer
            })
          }
          if (testOptions.script !== undefined) {
            return Effect.dieMessage(`ToolPoolTest: no reply to ${JSON.stringify(input)}`)
          }
          return Effect.succeed(input)
        }
        const answerCall = (request: RpcRequest): Effect.Effect<unknown, TurnError> =>
          call === undefined
            ? Effect.dieMessage(`ToolPoolTest: no call handler for ${request.method}`)
            : Effect.suspend(() => {
              const result = call(request.method, request.params, instance, turn)
              return Effect.isEffect(result) ? result as Effect.Effect<unknown, TurnError> : Effect.succeed(result)
            })
        /** What the tool does to make the pool fail the turn with `error`. */
        const failWith = (error: TurnError, id?: RpcRequest["id"]): Effect.Effect<void> => {
          switch (error._tag) {
            case "InstanceExited":
              return Effect.zipRight(
                error.stderrTail === "" ? Effect.void : io.stderr(error.stderrTail),
                io.exit(error.exitCode, (error.signal ?? undefined) as NodeJS.Signals | undefined)
              )
            case "ResponseTooLarge":
              return io.stdout(frameText("x".repeat(options.maxResponseBytes + 1), id))
            case "TurnTimeout":
              return Effect.never
            case "RpcError":
              return rpc !== undefined && id !== undefined
                ? io.stdout(rpc.respondError(id, { code: error.code, message: error.detail, data: error.data }))
                : Effect.dieMessage("ToolPoolTest: an RpcError answers a call only")
            default:
              return Effect.dieMessage(`ToolPoolTest: a tool cannot make the pool fail with ${error._tag}`)
          }
        }
        const frameText = (text: string, id?: RpcRequest["id"]): Uint8Array | string =>
          rpc !== undefined && id !== undefined ? rpc.respond(id, text) : codec.encode(text)
        const delayed = <A, E>(effect: Effect.Effect<A, E>) =>
          latency === undefined ? effect : Effect.zipRight(Effect.sleep(latency), effect)
        const handle = (frame: Frame): Effect.Effect<void> => {
          switch (frame._tag) {
            case "Response":
              return delayed(answerText(frame.text)).pipe(
                Effect.matchEffect({
                  onFailure: (error) => failWith(error),
                  onSuccess: (text) => io.stdout(frameText(text))
                }),
                // cut short by SIGINT: a fresh, empty answer, as a REPL's new prompt
                Effect.onInterrupt(() => Effect.ignore(io.stdout(frameText(""))))
              )
            case "RpcRequest":
              return delayed(answerCall(frame)).pipe(
                Effect.matchEffect({
                  onFailure: (error) => failWith(error, frame.id),
                  onSuccess: (result) => rpc === undefined ? Effect.void : io.stdout(rpc.respond(frame.id, result))
                })
              )
            default:
              return Effect.void
          }
        }
        return (input: string) => Effect.forEach(codec.decoder.push(encoder.encode(input)), handle, { discard: true })
      })
  }
}
