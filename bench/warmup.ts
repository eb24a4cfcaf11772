/**
 * A probe, not part of `npm run bench`: how long a fresh process takes to settle. 40,000
 * sequential `submit` turns on one instance (the build in `dist/`), then as many plain-Node
 * turns (`baseline.ts`), on one CPU; for each 5000 turns, the stalls over 0.3 ms (how many,
 * their total) and the mean turn. The first window of each side is V8 compiling its path.
 *
 *   npm run build && npx tsx bench/warmup.ts
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

const cpu = allowedCpus()[0]
if (cpu !== undefined) pinTo(cpu)
Baseline.useToolCopy()
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
