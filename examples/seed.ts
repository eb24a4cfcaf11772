/**
 * The first prototype's scenario: three aider-like instances, a file added to each,
 * each response read, health checked, everything shut down.
 *
 *   npx tsx examples/seed.ts
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Framing, ToolPool } from "toolpool"

const aider = `${import.meta.dirname}/../fixtures/mock-tool.mjs` // stands in for the real aider

export const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make({
    command: process.execPath,
    args: [aider],
    instances: 3,
    framing: Framing.prompt(/> $/)
  })
  const files = ["core/state.py", "error/engine.py", "aim/process_pool.py"]
  yield* Effect.forEach(files, (file, id) => pool.send(id, `/add ${file}`))
  const responses = yield* Effect.forEach(files, (_, id) => pool.read(id, { timeout: "10 seconds" }))
  const health = yield* pool.health
  yield* Console.log(responses, `alive: ${health.alive}/${health.total}`)
  yield* pool.shutdown
  return { responses, health }
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
