/**
 * The demo: a pool of the bundled mock tool (an aider look-alike), a batch of prompts spread
 * over its instances, one of which crashes its instance on purpose (the pool restarts it),
 * the status table and a clean shutdown. Needs nothing but Node.
 *
 *   npx tsx examples/demo.ts
 *
 * (`npm run demo` is the command line's `toolpool demo`, a different program over the same tool.)
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schedule } from "effect"
import { Framing, ToolPool } from "toolpool"

const mockTool = `${import.meta.dirname}/../fixtures/mock-tool.mjs`

const prompts = [
  "/add core/state.py",
  "/add error/engine.py",
  "/add aim/process_pool.py",
  "What does state.py do?",
  "/multi 3",
  "/sleep 200",
  "/crash 3",
  "/echo héllo wörld 🎉"
]

export const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make({
    command: process.execPath,
    args: [mockTool],
    instances: 4,
    framing: Framing.prompt(/> $/),
    turnTimeout: "5 seconds"
  })
  yield* Console.log(`pool of ${pool.options.instances} mock tools ready`)

  // Instance i takes prompts i, i+4, ...; instances run in parallel, turns on one in order.
  const results = yield* Effect.forEach(
    prompts.map((prompt, n) => ({ prompt, id: n % pool.options.instances })),
    ({ id, prompt }) =>
      pool.request(id, prompt).pipe(
        Effect.map((output) => `#${id} ok    ${prompt} -> ${JSON.stringify(output)}`),
        Effect.catchAll((error) => Effect.succeed(`#${id} error ${prompt} -> ${error._tag}: ${error.message}`))
      ),
    { concurrency: pool.options.instances }
  )
  for (const line of results) yield* Console.log(line)

  // The crashed instance is restarted by the default policy (on failure, with backoff).
  const crashed = (yield* pool.status).filter((s) => s.state !== "ready")
  for (const { id } of crashed) {
    yield* pool.status.pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (all) => all[id]?.state === "ready" }),
      Effect.timeout("10 seconds")
    )
    yield* Console.log(`#${id} restarted by policy: ${yield* pool.request(id, "/echo back again")}`)
  }

  yield* Console.log("\nid  pid      state    requests  restarts  last exit")
  for (const s of yield* pool.status) {
    const exit = s.lastExit === null ? "-" : s.lastExit.signal ?? `code ${s.lastExit.code}`
    yield* Console.log(
      `${String(s.id).padEnd(4)}${String(s.pid).padEnd(9)}${s.state.padEnd(9)}` +
        `${String(s.requests).padEnd(10)}${String(s.restarts).padEnd(10)}${exit}`
    )
  }
  const health = yield* pool.health
  yield* Console.log(`\nhealth: ${health.alive}/${health.total} alive`)
  yield* pool.shutdown
  yield* Console.log("shut down, no process left")
  return { results, health }
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
