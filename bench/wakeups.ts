/**
 * A probe, not part of `npm run bench`: how much a turn's time depends on where the kernel
 * puts the processes, with nothing but the plain-Node baseline (no toolpool at all).
 *
 * One tool, sequential turns; after each turn the parent busy-waits 0 to 50 us before its next
 * write, as a slower driver would. Each line is the p50 of 3000 turns. Free placement first,
 * then the same with this process (and so its tool) pinned to one CPU:
 *
 *   npx tsx bench/wakeups.ts
 *
 * On the 2-core KVM guest this was written on, one run gave, free, a p50 of 88 us at every
 * delay in its first round, and 26.5 us at no delay in its second, up to 87 us from a delay of
 * 10 us: the tool had gone idle on the other CPU, and waking it there is what costs. Pinned,
 * 21-33 us at every delay (highest at no delay). Under other load the free mode may not show
 * up at all (the other CPU is then rarely idle). `placement.ts` says why the benchmark pins
 * its turn-by-turn sections.
 */
import * as Baseline from "./baseline.js"
import * as Fixture from "./fixture.js"
import { allowedCpus, pinTo } from "./placement.js"
import { percentile } from "./stats.js"

const DELAYS_US = [0, 5, 10, 20, 50]
const TURNS = 3000

const spin = (micros: number) => {
  const until = performance.now() + micros / 1000
  while (performance.now() < until) {
    // busy: the parent stays on its CPU, as a driver doing work between turns would
  }
}

const measure = async (label: string): Promise<void> => {
  const tool = new Baseline.PromptTool()
  try {
    await tool.ready
    for (let i = 0; i < 1000; i++) await tool.turn(Fixture.payload(i))
    const cells: Array<string> = []
    for (const delay of DELAYS_US) {
      const samples: Array<number> = []
      for (let i = 0; i < TURNS; i++) {
        const start = performance.now()
        const answer = await tool.turn(Fixture.payload(i))
        samples.push(performance.now() - start)
        Fixture.checkReply("baseline", i, answer)
        spin(delay)
      }
      cells.push(`${delay} us: ${(percentile(samples, 0.5) * 1000).toFixed(1)}`.padEnd(14))
    }
    console.log(`${label.padEnd(10)} p50 turn (us) by delay  ${cells.join(" ")}`)
  } finally {
    await tool.close()
  }
}

Baseline.useToolCopy()
for (let round = 0; round < 2; round++) await measure("free")
const cpu = allowedCpus()[0]
if (cpu !== undefined) {
  pinTo(cpu)
  for (let round = 0; round < 2; round++) await measure(`on CPU ${cpu}`)
}
