/**
 * A pool of MCP servers (the reference server `@modelcontextprotocol/server-everything`, a
 * devDependency): every instance is initialized before it serves, `pool.call` sends JSON-RPC
 * requests and matches their answers by id, the server's notifications arrive on a stream, and
 * an error answer is a typed `RpcError`.
 *
 *   npx tsx examples/mcp-pool.ts
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Chunk, Console, Effect, Fiber, Stream } from "effect"
import { createRequire } from "node:module"
import { Presets, ToolPool } from "toolpool"

const server = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-everything/dist/index.js")

interface ToolList {
  readonly tools: ReadonlyArray<{ readonly name: string }>
}
interface ToolResult {
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>
}
const text = (result: unknown) => (result as ToolResult).content.map((c) => c.text ?? `[${c.type}]`).join(" ")

export const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make(
    Presets.mcp({ command: process.execPath, args: [server, "stdio"], instances: 2, turnTimeout: "10 seconds" })
  )

  const { tools } = (yield* pool.call(0, "tools/list", {})) as ToolList
  yield* Console.log(`tools/list: ${tools.length} tools, among them ${tools.slice(0, 4).map((t) => t.name).join(", ")}`)

  // One call per instance, at the same time.
  const [echo, sum] = yield* Effect.all([
    pool.call(0, "tools/call", { name: "echo", arguments: { message: "hello from instance 0" } }),
    pool.call(1, "tools/call", { name: "get-sum", arguments: { a: 19, b: 23 } })
  ], { concurrency: "unbounded" })
  yield* Console.log(`echo on #0: ${text(echo)}`)
  yield* Console.log(`get-sum on #1: ${text(sum)}`)

  // Progress notifications of a long call, from the pool's notifications stream.
  const progress = yield* pool.notifications.pipe(
    Stream.filter((n) => n.method === "notifications/progress"),
    Stream.take(3),
    Stream.runCollect,
    Effect.fork
  )
  yield* Effect.yieldNow()
  const long = yield* pool.call(1, "tools/call", {
    name: "trigger-long-running-operation",
    arguments: { duration: 0.3, steps: 3 },
    _meta: { progressToken: "job-1" }
  })
  for (const n of Chunk.toReadonlyArray(yield* Fiber.join(progress))) {
    yield* Console.log(`notification from #${n.instance}: ${n.method} ${JSON.stringify(n.params)}`)
  }
  yield* Console.log(`long operation on #1: ${text(long)}`)

  // A method the server does not know: a typed RpcError with the server's code.
  const error = yield* Effect.flip(pool.call(0, "no/such/method", {}))
  yield* Console.log(`no/such/method: ${error._tag}: ${error.message}`)
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
