/**
 * A probe, not part of `npm run bench`: CPU time per turn, of the parent and of the tools,
 * with everything on one CPU (as the throughput section runs). Sides, each driving its own
 * tools in the same process, in turn:
 *
 * - baseline: `child_process` and a promise per turn (`baseline.ts`);
 * - bare: the pool's executor and pipes, one `Effect.async` per turn, one fiber per tool, and
 *   nothing else: what Effect costs to wait for each answer, where nothing is done if the waiting
 *   fiber is interrupted;
 * - floor: the same inside `Effect.onExit` (as the pool's quick turn waits, less its
 *   bookkeeping), which is what a wait that must act on an interruption costs;
 * - toolpool: `pool.submit` (the build in `dist/`).
 *
 * On one CPU a turn costs the parent's CPU plus its tool's, so throughput follows these sums.
 *
 *   npm run build && npx tsx bench/cpu.ts
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { readdirSync, readFileSync } from "node:fs"
import * as Baseline from "./baseline.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { allowedCpus, pinTo } from "./placement.js"
import { median, settledAfter } from "./stats.js"
import * as Drive from "./toolpool.js"

const TURNS = 8000
const ROUNDS = 3

/**
 * CPU time of the given processes, all their threads, in microseconds, from
 * /proc/PID/task/TID/schedstat (nanoseconds; /proc/PID/stat counts 10 ms ticks).
 */
const cpuOf = (pids: ReadonlyArray<number>): number =>
  pids.reduce(
    (sum, pid) =>
      readdirSync(`/proc/${pid}/task`).reduce(
        (own, tid) => own + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1000,
        sum
      ),
    0
  )

/** The floor's raw reply, less its final line break and prompt. */
const trimPrompt = (reply: string): string => reply.slice(0, reply.length - Fixture.PROMPT.length).trimEnd()

const ownCpu = (): number => {
  const used = process.cpuUsage()
  return used.user + used.system
}

interface Side {
  readonly name: string
  readonly tools: ReadonlyArray<number>
  /** Every worker (one per tool) takes `perWorker` turns; every answer is checked. */
  readonly run: (perWorker: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** Parent and tool CPU of `side` while each of its workers takes `perWorker` turns. */
const measure = async (side: Side, perWorker: number) => {
  const parent = ownCpu()
  const tools = cpuOf(side.tools)
  await side.run(perWorker)
  return { parent: ownCpu() - parent, tools: cpuOf(side.tools) - tools }
}

const baseline = async (n: number): Promise<Side> => {
  const tools = Array.from({ length: n }, () => new Baseline.PromptTool())
  await Promise.all(tools.map((tool) => tool.ready))
  return {
    name: "baseline",
    tools: tools.map((tool) => tool.child.pid ?? 0),
    run: async (perWorker) => {
      await Baseline.busy(tools, perWorker)
    },
    close: async () => {
      await Promise.all(tools.map((tool) => tool.close()))
    }
  }
}

/** Runs `effect` in a scope that stays open until `close`. */
const scoped = async <A>(effect: Effect.Effect<A, unknown, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(effect, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/**
 * One floor tool, waited on as the pool's quick turn waits: one `Effect.async` inside
 * `Effect.onExit`; `bare`: the `Effect.async` alone, which cannot act on an interruption.
 */
const floorTool = (bare: boolean) =>
  Effect.map(Drive.bareTool, ({ next, proc, stdin }) => {
    const wait = (input: string) =>
      Effect.async<string>((resume) => {
        next((reply) => resume(Effect.succeed(reply)))
        stdin.write(input)
      })
    return {
      pid: proc.pid,
      turn: bare ? wait : (input: string) => Effect.onExit(wait(input), () => Effect.sync(() => next(() => {})))
    }
  })

const floor = async (n: number, bare: boolean): Promise<Side> => {
  const { close, value: tools } = await scoped(Effect.all(Array.from({ length: n }, () => floorTool(bare))))
  return {
    name: bare ? "bare" : "floor",
    tools: tools.map((tool) => tool.pid),
    run: (perWorker) =>
      Effect.runPromise(Effect.forEach(
        tools,
        ({ turn }) =>
          Effect.gen(function*() {
            for (let i = 0; i < perWorker; i++) {
              Fixture.checkReply("floor", i, trimPrompt(yield* turn(`${Fixture.payload(i)}\n`)))
            }
          }),
        { concurrency: "unbounded", discard: true }
      )),
    close
  }
}

const toolpool = async (n: number): Promise<Side> => {
  const { close, value: pool } = await scoped(ToolPool.make(Drive.options("prompt", n)))
  const status = await Effect.runPromise(pool.status)
  return {
    name: "toolpool",
    tools: status.flatMap((s) => s.pid === null ? [] : [s.pid]),
    run: async (perWorker) => {
      await Effect.runPromise(Drive.busy(pool, n, perWorker))
    },
    close
  }
}

const cpu = allowedCpus()[0]
if (cpu !== undefined) pinTo(cpu)
Baseline.useToolCopy()
console.log(`CPU per turn on CPU ${cpu}, microseconds: parent + tools (medians of ${ROUNDS} rounds of ${TURNS} turns)`)
for (const n of [1, 4, 16]) {
  const sides = [await baseline(n), await floor(n, true), await floor(n, false), await toolpool(n)]
  const perWorker = Math.ceil(TURNS / n)
  // warm-up: V8 compiles each side's path over the first few thousand turns
  for (const side of sides) await side.run(Math.ceil(settledAfter(n) / n))
  const rows = new Map<string, Array<{ parent: number; tools: number }>>()
  for (let round = 0; round < ROUNDS; round++) {
    // each round in the other order, so that no side always runs right after the same one
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const used = await measure(side, perWorker)
      rows.set(side.name, [...(rows.get(side.name) ?? []), used])
    }
  }
  for (const side of sides) {
    const used = rows.get(side.name) ?? []
    const turns = perWorker * n
    const parent = median(used.map((u) => u.parent)) / turns
    const tools = median(used.map((u) => u.tools)) / turns
    console.log(
      `${String(n).padStart(2)} instance${n === 1 ? " " : "s"}  ${side.name.padEnd(9)} ${
        parent.toFixed(1).padStart(5)
      } + ${tools.toFixed(1).padStart(5)} = ${(parent + tools).toFixed(1)}`
    )
  }
  for (const side of sides) await side.close()
}
