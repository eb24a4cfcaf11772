import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { fileURLToPath } from "node:url"
import { Presets, ToolPool } from "../../src/index.js"

const provide = Effect.provide(NodeContext.layer)
const server = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url)
)
const everything = (overrides: Presets.Overrides = {}) =>
  Presets.mcp({
    command: process.execPath,
    args: [server, "stdio"],
    turnTimeout: "10 seconds",
    grace: "200 millis",
    killAfter: "1 second",
    ...overrides
  })

const text = (result: unknown): unknown => (result as { content: ReadonlyArray<{ text: unknown }> }).content[0]?.text

describe("Presets.mcp, on @modelcontextprotocol/server-everything", () => {
  it.scopedLive("every instance is initialized, lists its tools and calls them", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(everything({ instances: 2 }))
      const tools = yield* pool.call(0, "tools/list", {})
      const names = (tools as { tools: ReadonlyArray<{ name: string }> }).tools.map((tool) => tool.name)
      expect(names).toEqual(expect.arrayContaining(["echo", "get-sum"]))
      const [echo, sum] = yield* Effect.all([
        pool.call(0, "tools/call", { name: "echo", arguments: { message: "hello from 0" } }),
        pool.call(1, "tools/call", { name: "get-sum", arguments: { a: 19, b: 23 } })
      ], { concurrency: "unbounded" })
      expect(text(echo)).toBe("Echo: hello from 0")
      expect(text(sum)).toBe("The sum of 19 and 23 is 42.")
    }).pipe(provide))

  it.scopedLive("a turn with request is a call given as JSON", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(everything())
      const answer = yield* pool.request(
        0,
        JSON.stringify({ method: "tools/call", params: { name: "echo", arguments: { message: "as a turn" } } })
      )
      expect(text(JSON.parse(answer))).toBe("Echo: as a turn")
    }).pipe(provide))

  it.scopedLive("progress notifications of a call arrive on the notifications stream", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(everything())
      const progress = yield* pool.notifications.pipe(
        Stream.filter((n) => n.method === "notifications/progress"),
        Stream.take(2),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.yieldNow()
      const result = yield* pool.call(0, "tools/call", {
        name: "trigger-long-running-operation",
        arguments: { duration: 0.2, steps: 2 },
        _meta: { progressToken: "op-1" }
      })
      expect(text(result)).toContain("Long running operation completed")
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(progress))
      expect(seen.map((n) => [n.instance, n.params])).toEqual([
        [0, { progress: 1, total: 2, progressToken: "op-1" }],
        [0, { progress: 2, total: 2, progressToken: "op-1" }]
      ])
    }).pipe(provide))

  it.scopedLive("an unknown method is a typed RpcError, an unknown tool an error result; the instance goes on", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(everything())
      const missing = yield* Effect.flip(pool.call(0, "no/such/method", {}))
      expect(missing._tag).toBe("RpcError")
      expect(missing._tag === "RpcError" && missing.code).toBe(-32601)
      const unknown = yield* pool.call(0, "tools/call", { name: "no-such-tool", arguments: {} })
      expect(unknown).toMatchObject({ isError: true })
      expect(text(unknown)).toContain("no-such-tool")
      expect(text(yield* pool.call(0, "tools/call", { name: "echo", arguments: { message: "still here" } })))
        .toBe("Echo: still here")
    }).pipe(provide))
})
