/**
 * Agent turns that span a call and the notifications after it: a Codex turn ends with the
 * `turn/completed` notification, an ACP prompt with the response to `session/prompt` (its
 * `session/update` notifications come before that response).
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AcpPromptParams, AcpTurn, CodexTurn, CodexTurnParams } from "../../Presets.js"
import type { Notification, ToolPool, TurnError, TurnOptions } from "../../ToolPool.js"
import { RpcError, TurnTimeout } from "../../ToolPoolError.js"

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const field = (u: unknown, ...path: ReadonlyArray<string>): unknown => {
  let value = u
  for (const key of path) value = isObject(value) ? value[key] : undefined
  return value
}

/**
 * The instance's notifications from now on, in a queue of the caller's scope.
 *
 * `notifications` is a Stream: it subscribes when it starts running. The collector is forked
 * and the caller yields once, so that it subscribes before the caller sends anything (Effect's
 * scheduler runs the forked fiber first). Notifications are routed before the response that
 * follows them, and the collector takes them in whole chunks, so once a call returns, the
 * notifications the tool sent before its response are in the queue.
 */
const inbox = (pool: ToolPool, instance: number): Effect.Effect<Queue.Dequeue<Notification>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Notification>()
    yield* pool.notifications.pipe(
      Stream.filter((notification) => notification.instance === instance),
      Stream.runForEach((notification) => Queue.offer(queue, notification)),
      Effect.forkScoped
    )
    yield* Effect.yieldNow()
    return queue
  })

const deadline = (pool: ToolPool, instance: number, options: TurnOptions | undefined) => {
  const timeout = Duration.decode(options?.timeout ?? pool.options.turnTimeout)
  return Effect.timeoutFail({
    duration: timeout,
    onTimeout: () => new TurnTimeout({ instance, pid: null, timeout, kind: "deadline" })
  })
}

const asInput = (input: string | ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  typeof input === "string" ? [{ type: "text", text: input }] : input

const malformed = (instance: number, method: string, result: unknown) =>
  new RpcError({
    instance,
    method,
    code: -32603,
    detail: `unexpected result: ${JSON.stringify(result)?.slice(0, 200)}`,
    data: result
  })

/** @internal */
export const codexTurn = (
  pool: ToolPool,
  instance: number,
  params: CodexTurnParams,
  options?: TurnOptions
): Effect.Effect<CodexTurn, TurnError> =>
  Effect.gen(function*() {
    const queue = yield* inbox(pool, instance)
    const { input, threadId } = params
    const started = yield* pool.call(instance, "turn/start", { ...params, input: asInput(input) }, options)
    const turnId = field(started, "turn", "id")
    if (typeof turnId !== "string") return yield* Effect.fail(malformed(instance, "turn/start", started))
    const seen: Array<Notification> = []
    // turn and item notifications name their thread; others (rate limits, thread/started) are not the turn's
    const ofThisThread = (n: Notification) => field(n.params, "threadId") === threadId
    const collect = Effect.gen(function*() {
      while (true) {
        const notification = yield* Queue.take(queue)
        if (!ofThisThread(notification)) continue
        seen.push(notification)
        if (notification.method === "turn/completed" && field(notification.params, "turn", "id") === turnId) {
          return field(notification.params, "turn")
        }
      }
    })
    // Cut short (timeout, interruption): ask the server to stop the turn; it will still report it.
    const turn = yield* collect.pipe(
      Effect.onInterrupt(() =>
        pool.call(instance, "turn/interrupt", { threadId, turnId }, { timeout: "2 seconds" }).pipe(Effect.ignore)
      )
    )
    const messages = seen.flatMap((n) => {
      const item = field(n.params, "item")
      return n.method === "item/completed" && field(item, "type") === "agentMessage" &&
          typeof field(item, "text") === "string"
        ? [field(item, "text") as string]
        : []
    })
    const text = messages.length > 0
      ? messages.join("\n\n")
      : seen.flatMap((n) => {
        const delta = field(n.params, "delta")
        return n.method === "item/agentMessage/delta" && typeof delta === "string" ? [delta] : []
      }).join("")
    return { turnId, turn, text, notifications: seen }
  }).pipe(Effect.scoped, deadline(pool, instance, options))

/** @internal */
export const acpPrompt = (
  pool: ToolPool,
  instance: number,
  params: AcpPromptParams,
  options?: TurnOptions
): Effect.Effect<AcpTurn, TurnError> =>
  Effect.gen(function*() {
    const queue = yield* inbox(pool, instance)
    const { sessionId } = params
    const result = yield* pool.call(
      instance,
      "session/prompt",
      { sessionId, prompt: asInput(params.prompt) },
      // the deadline is the whole turn's, below
      { timeout: Duration.infinity }
    ).pipe(
      // Cut short: ACP cancels a prompt with a notification; the agent then answers "cancelled".
      Effect.onInterrupt(() =>
        pool.send(instance, JSON.stringify({ jsonrpc: "2.0", method: "session/cancel", params: { sessionId } })).pipe(
          Effect.ignore
        )
      )
    )
    const stopReason = field(result, "stopReason")
    if (typeof stopReason !== "string") return yield* Effect.fail(malformed(instance, "session/prompt", result))
    const updates = (yield* Queue.takeAll(queue)).pipe((all) => Array.from(all)).flatMap((n) =>
      n.method === "session/update" && field(n.params, "sessionId") === sessionId ? [field(n.params, "update")] : []
    )
    const text = updates.flatMap((update) =>
      field(update, "sessionUpdate") === "agent_message_chunk" && field(update, "content", "type") === "text"
        ? [String(field(update, "content", "text"))]
        : []
    ).join("")
    return { stopReason, text, updates }
  }).pipe(Effect.scoped, deadline(pool, instance, options))
