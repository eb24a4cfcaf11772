/**
 * A parent process for the lifeline test: a pool of two mock tools that ignore SIGTERM and stdin
 * EOF (hanging) and have each started a grandchild, over the transport named by argv[2]. Prints
 * one JSON line with the pids of the tools and their children, then waits to be killed.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import { ToolPool, Transport } from "../../src/index.js"
import { mockTool } from "./mockTool.js"

const program = Effect.gen(function*() {
  const name = process.argv[2] ?? "pipes"
  const transport = name === "pty"
    ? Transport.pty()
    : name === "commandExecutor"
    ? yield* Transport.commandExecutor
    : Transport.pipes()
  const pool = yield* ToolPool.make(mockTool({ instances: 2, transport }))
  const pids: Array<number> = []
  for (const id of [0, 1]) {
    yield* pool.request(id, "/ignore-sigterm")
    const spawned = yield* pool.request(id, "/spawn-child")
    pids.push(Number(/spawned (\d+)/.exec(spawned)?.[1]))
    const pid = (yield* pool.status)[id]?.pid
    if (pid != null) pids.push(pid)
    yield* pool.send(id, "/hang")
  }
  process.stdout.write(`${JSON.stringify(pids)}\n`)
  return yield* Effect.never
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer))).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
