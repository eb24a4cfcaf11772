/**
 * A probe, not part of `npm run bench`: where a turn's time goes, against plain Node, over the
 * same tool. Three sides, one instance, sequential turns, in turn in one process:
 *
 * - baseline: `child_process` and a promise per turn (no Effect);
 * - bare: the pool's executor and pipes, one `Effect.async` per turn without a canceler (a
 *   wait that cannot be told it was interrupted) and nothing else;
 * - floor: the same with a canceler, as any wait that must act on an interruption has (Effect
 *   wraps such an `Effect.async` in `onInterrupt`), and nothing else: no lock, deadline,
 *   metrics, transcript;
 * - pool: `pool.request` (the build in `dist/`, as `npm run bench` measures).
 *
 * Besides the turn's p50 it reports the reaction: from the 'data' event that brings a response
 * to the write of the next input, split into the 'data' handler (decoding, routing, settling the
 * turn) and what follows it (the caller's resumption up to the next write). It is measured by
 * wrapping `Socket#emit` and `Socket#write` for the whole process, so all sides pay the same;
 * the last column is how long the `write` call itself took.
 *
 *   npm run build && npx tsx bench/floor.ts
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { Socket } from "node:net"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { median, now, percentile } from "./stats.js"
import * as Drive from "./toolpool.js"

const TURNS = 10_000
const WARMUP = 2_000
const ROUNDS = 3

// ---------------------------------------------------------------------------
// Reaction: 'data' event -> next write
// ---------------------------------------------------------------------------

const reaction = {
  dataAt: 0,
  handledAt: 0,
  whole: [] as Array<number>,
  handler: [] as Array<number>,
  after: [] as Array<number>,
  write: [] as Array<number>
}
// Socket#emit has one overload per event; the wrapper passes every event through as it came.
const originalEmit = Socket.prototype.emit as (this: Socket, event: string | symbol, ...args: Array<unknown>) => boolean
const originalWrite = Socket.prototype.write
Socket.prototype.emit = function(this: Socket, event: string | symbol, ...args: Array<unknown>) {
  if (event !== "data") return originalEmit.call(this, event, ...args)
  reaction.dataAt = now()
  const result = originalEmit.call(this, event, ...args)
  reaction.handledAt = now()
  reaction.handler.push(reaction.handledAt - reaction.dataAt)
  return result
}
Socket.prototype.write = function(this: Socket, ...args: Parameters<Socket["write"]>) {
  const at = now()
  reaction.whole.push(at - reaction.dataAt)
  reaction.after.push(at - reaction.handledAt)
  const result = originalWrite.apply(this, args)
  reaction.write.push(now() - at)
  return result
} as Socket["write"]

const resetReaction = () => {
  reaction.whole = []
  reaction.handler = []
  reaction.after = []
  reaction.write = []
}

// ---------------------------------------------------------------------------
// The three sides
// ---------------------------------------------------------------------------

const baseline = async (): Promise<Array<number>> => {
  const child = spawn(process.execPath, [Fixture.toolPath()], { stdio: "pipe", detached: true })
  const tool = Fixture.prompter()
  child.stdout.setEncoding("utf8").on("data", tool.onData)
  child.stderr.resume()
  const turn = (input: string) =>
    new Promise<string>((resolve) => {
      tool.next(resolve)
      child.stdin.write(input)
    })
  await new Promise<string>((resolve) => tool.next(resolve))
  const samples: Array<number> = []
  for (let i = 0; i < WARMUP + TURNS; i++) {
    if (i === WARMUP) resetReaction()
    const start = now()
    await turn(`ping ${i}\n`)
    if (i >= WARMUP) samples.push(now() - start)
  }
  child.kill("SIGKILL")
  return samples
}

const floor = (cancelable: boolean) =>
  Effect.gen(function*() {
    const { next, proc, stdin } = yield* Drive.bareTool
    const forget = Effect.sync(() => next(() => {}))
    const turn = (input: string) =>
      Effect.async<string>((resume) => {
        next((reply) => resume(Effect.succeed(reply)))
        stdin.write(input)
        return cancelable ? forget : undefined
      })
    const samples: Array<number> = []
    for (let i = 0; i < WARMUP + TURNS; i++) {
      if (i === WARMUP) resetReaction()
      const start = now()
      yield* turn(`ping ${i}\n`)
      if (i >= WARMUP) samples.push(now() - start)
    }
    proc.signal("SIGKILL", "group")
    return samples
  }).pipe(Effect.scoped)

const pool = Effect.gen(function*() {
  const pool = yield* ToolPool.make(Drive.options("prompt", 1))
  const samples: Array<number> = []
  for (let i = 0; i < WARMUP + TURNS; i++) {
    if (i === WARMUP) resetReaction()
    const start = now()
    yield* pool.request(0, `ping ${i}`)
    if (i >= WARMUP) samples.push(now() - start)
  }
  return samples
}).pipe(Effect.scoped)

// ---------------------------------------------------------------------------
// Rounds and report
// ---------------------------------------------------------------------------

const us = (ms: number) => (ms * 1000).toFixed(1).padStart(6)
const results = new Map<string, Array<ReadonlyArray<number>>>()
const record = (side: string, samples: ReadonlyArray<number>) => {
  const row = [
    percentile(samples, 0.5),
    median(reaction.whole),
    median(reaction.handler),
    median(reaction.after),
    median(reaction.write)
  ]
  results.set(side, [...(results.get(side) ?? []), row])
}

const removeCopy = Fixture.useCopy()
try {
  for (let round = 0; round < ROUNDS; round++) {
    record("baseline", await baseline())
    record("bare", await Effect.runPromise(floor(false)))
    record("floor", await Effect.runPromise(floor(true)))
    record("pool", await Effect.runPromise(pool))
  }
} finally {
  removeCopy()
}
console.log(`medians of ${ROUNDS} rounds of ${TURNS} turns, in microseconds`)
console.log("side       turn p50  reaction  (handler + after)   write call")
for (const [side, rows] of results) {
  const column = (i: number) => median(rows.map((row) => row[i] ?? Number.NaN))
  console.log(
    `${side.padEnd(9)} ${us(column(0))}    ${us(column(1))}  (${us(column(2))} + ${us(column(3))})   ${us(column(4))}`
  )
}
