/**
 * Failures as values: a batch of jobs over the bundled mock tool where one job is too slow, one
 * crashes its instance, and a burst finds the pool full. `Effect.catchTags` turns each of those
 * into a result; whatever else could go wrong stays in the error type, checked by the compiler.
 *
 *   npx tsx examples/typed-errors.ts
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Schedule } from "effect"
import { Framing, ToolPool } from "toolpool"
import type { ToolPoolError } from "toolpool"

const mockTool = `${import.meta.dirname}/../fixtures/mock-tool.mjs`

/** What `job` leaves unhandled: the compiler knows the three handled tags are gone. */
type Unhandled = Exclude<
  ToolPool.SubmitError,
  ToolPoolError.TurnTimeout | ToolPoolError.InstanceExited | ToolPoolError.PoolBusy
>

/** One job: its answer, or what happened instead. */
const job = (pool: ToolPool.ToolPool, input: string): Effect.Effect<string, Unhandled> =>
  pool.submit(input).pipe(
    Effect.map(({ instance, output }) => `ok        #${instance} ${JSON.stringify(output)}`),
    Effect.catchTags({
      TurnTimeout: (e) => Effect.succeed(`too slow  #${e.instance} no answer within ${Duration.format(e.timeout)}`),
      InstanceExited: (e) =>
        Effect.succeed(`crashed   #${e.instance} exit code ${e.exitCode}, stderr ${JSON.stringify(e.stderrTail)}`),
      PoolBusy: (e) => Effect.succeed(`busy      ${e.reason}`)
    }),
    Effect.tap((result) => Console.log(`${input.padEnd(12)} ${result}`))
  )

export const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make({
    command: process.execPath,
    args: [mockTool],
    instances: 2,
    framing: Framing.prompt(/> $/),
    turnTimeout: "500 millis", // a job's deadline
    acquireTimeout: "200 millis", // how long a job may wait for a free instance
    maxQueue: 1 // how many jobs may wait at all
  })

  // One at a time: an answer, a timeout (the instance is interrupted and serves on), a crash.
  const results = yield* Effect.forEach(
    ["/echo hello", "/sleep 5000", "/crash 7", "/echo again"],
    (input) => job(pool, input)
  )

  // The crashed instance is restarted by the default policy; wait for both to be ready.
  yield* pool.health.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (health) => health.ready === 2 }),
    Effect.timeout("10 seconds")
  )

  // A burst: two jobs take both instances, one waits and gives up, one finds the queue full.
  const burst = yield* Effect.forEach(
    ["/sleep 400", "/sleep 400", "/echo waits", "/echo no room"],
    (input, i) => Effect.delay(job(pool, input), `${i * 20} millis`),
    { concurrency: "unbounded" }
  )

  const status = yield* pool.status
  yield* Console.log(`\nrestarts: ${status.map((s) => `#${s.id} ${s.restarts}`).join(", ")}`)
  return [...results, ...burst]
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
