/**
 * A pool of Python REPLs: each instance keeps its own variables and functions between turns,
 * a turn that runs too long is interrupted (not restarted: its state survives), and an
 * unfinished statement is a typed error rather than a hang.
 *
 *   npx tsx examples/repl-pool.ts
 *
 * Needs python3 on PATH. `Presets.python()` runs the standard library's interactive console
 * behind a loop that marks where each answer ends; `Presets.node()` does the same for Node.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Presets, ToolPool } from "toolpool"

export const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make(Presets.python({ instances: 2, turnTimeout: "10 seconds" }))
  const turn = (id: number, code: string) =>
    pool.request(id, code).pipe(
      Effect.tap((answer) => Console.log(`[${id}] ${code.split("\n").join("\n    ")}\n => ${JSON.stringify(answer)}`))
    )

  // Two instances, two separate interpreters.
  yield* turn(0, "x = 6 * 7")
  yield* turn(1, "x = 'hello'")
  yield* turn(0, "x")
  yield* turn(1, "x.upper()")

  // A block is one turn; what it prints is the answer.
  yield* turn(0, "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a")
  yield* turn(0, "[fib(n) for n in range(10)]")

  // Too slow: the turn fails with TurnTimeout, the pool interrupts the code (KeyboardInterrupt),
  // and the instance, with its state, serves the next turn.
  const slow = yield* Effect.flip(pool.request(0, "import time\ntime.sleep(60)", { timeout: "500 millis" }))
  yield* Console.log(`[0] time.sleep(60)\n => ${slow._tag}: ${slow.message}`)
  yield* turn(0, "x + fib(10)")

  // An open bracket: the REPL would wait for more; the turn fails with IncompleteInput instead.
  const open = yield* Effect.flip(pool.request(1, "values = [1, 2,"))
  yield* Console.log(`[1] values = [1, 2,\n => ${open._tag}: ${open.message}`)
  yield* turn(1, "x * 2")

  const status = yield* pool.status
  yield* Console.log(
    `\n${status.map((s) => `instance ${s.id}: ${s.state}, ${s.requests} turns, ${s.restarts} restarts`).join("\n")}`
  )
  return status
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
