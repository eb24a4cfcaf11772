/**
 * A probe, not part of `npm run bench`: how long a fresh process takes to settle, on one CPU.
 *
 * - With no argument: 40,000 sequential `submit` turns on one instance (the build in `dist/`),
 *   then as many plain-Node turns (`baseline.ts`); for each 5000 turns, the stalls over 0.3 ms
 *   (how many, their total) and the mean turn. The first window of each side is V8 compiling
 *   its path.
 * - With a number of instances N > 1: N workers keep N instances busy, as the throughput section
 *   does, 48,000 turns a side (the pool first, then the baseline, in this process); for each
 *   4000 turns, the parent's CPU per turn and the turns per second.
 *
 *   npm run build && npx tsx bench/warmup.ts [instances]
 */
import * as Effect from "effect/Effect"
import * as Baseline from "./baseline.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { allowedCpus, pinTo } from "./placement.js"
import * as Drive from "./toolpool.js"

const WINDOW = 5000
const WINDOWS = 8

const report = (side: string, samples: ReadonlyArray<number>) => {
  const cells: Array<string> = []
  for (let w = 0; w < WINDOWS; w++) {
    const part = samples.slice(w * WINDOW, (w + 1) * WINDOW)
    const stalls = part.filter((ms) => ms > 0.3)
    const total = (values: ReadonlyArray<number>) => values.reduce((sum, ms) => sum + ms, 0)
    cells.push(`${stalls.length}/${total(stalls).toFixed(0)}ms/${(total(part) * 1000 / WINDOW).toFixed(0)}us`)
  }
  console.log(`${side.padEnd(9)} ${cells.join("  ")}`)
}

/** For each block of `BLOCK` turns: the parent's CPU per turn, in us, and thousands of turns per second. */
const BLOCK = 4000
const BLOCKS = 12

const blocks = async (side: string, run: () => Promise<number>) => {
  const cells: Array<string> = []
  for (let b = 0; b < BLOCKS; b++) {
    const cpu = process.cpuUsage()
    const ms = await run()
    const used = process.cpuUsage(cpu)
    cells.push(`${((used.user + used.system) / BLOCK).toFixed(1)}/${(BLOCK / ms).toFixed(1)}k`)
  }
  console.log(`${side.padEnd(9)} ${cells.join(" ")}`)
}

const cpu = allowedCpus()[0]
if (cpu !== undefined) pinTo(cpu)
Baseline.useToolCopy()
const instances = Number(process.argv[2] ?? 1)
if (!Number.isInteger(instances) || instances < 1) {
  console.error(`usage: npx tsx bench/warmup.ts [instances], got ${process.argv[2]}`)
  process.exit(2)
}
if (instances > 1) {
  const perWorker = BLOCK / instances
  console.log(`${instances} instances, per ${BLOCK} turns: parent CPU per turn (us) / turns per second`)
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* ToolPool.make(Drive.options("prompt", instances))
    yield* Effect.promise(() => blocks("toolpool", () => Effect.runPromise(Drive.busy(pool, instances, perWorker))))
  })))
  const tools = Array.from({ length: instances }, () => new Baseline.PromptTool())
  await Promise.all(tools.map((tool) => tool.ready))
  await blocks("baseline", () => Baseline.busy(tools, perWorker))
  await Promise.all(tools.map((tool) => tool.close()))
} else {
  console.log(`per ${WINDOW} turns: stalls over 0.3 ms / their total / mean turn`)
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const pool = yield* ToolPool.make(Drive.options("prompt", 1))
    const samples: Array<number> = []
    for (let i = 0; i < WINDOW * WINDOWS; i++) {
      const start = performance.now()
      const { output } = yield* pool.submit(Fixture.payload(i))
      samples.push(performance.now() - start)
      Fixture.checkReply("toolpool", i, output)
    }
    report("toolpool", samples)
  })))
  const tool = new Baseline.PromptTool()
  await tool.ready
  const samples: Array<number> = []
  for (let i = 0; i < WINDOW * WINDOWS; i++) {
    const start = performance.now()
    const answer = await tool.turn(Fixture.payload(i))
    samples.push(performance.now() - start)
    Fixture.checkReply("baseline", i, answer)
  }
  report("baseline", samples)
  await tool.close()
}
