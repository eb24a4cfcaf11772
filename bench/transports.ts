/**
 * The transports and the streaming turn, measured against the same baselines as the rest:
 * - turn latency p50 over each transport (pipes, the platform's CommandExecutor, a pty) against
 *   the plain Node readline baseline, in alternating blocks as the latency section does;
 * - an 8 MiB answer read as a stream of parts (`requestStream`) against a raw read of the pipe.
 */
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Transport } from "../src/index.js"
import * as Baseline from "./baseline.js"
import { ToolPool } from "./library.js"
import type { Row } from "./report.js"
import { ratioAtLeast, ratioAtMost, row } from "./report.js"
import { median, MiB, now, percentile } from "./stats.js"
import * as Drive from "./toolpool.js"

const BLOCK = 250

const transportsOf = (): ReadonlyArray<readonly [string, Effect.Effect<Transport.Transport, never, never>]> => [
  ["pipes", Effect.sync(() => Transport.pipes())],
  ["command-executor", Effect.provide(Transport.commandExecutor, NodeContext.layer)],
  ["pty", Effect.sync(() => Transport.pty())]
]

/** Turn latency p50 per transport; pipes is the default and keeps the latency section's target. */
export const transports = (plan: { readonly warmup: number; readonly turns: number; readonly runs: number }) =>
  Effect.forEach(transportsOf(), ([name, make]) =>
    Effect.gen(function*() {
      const transport = yield* make
      const pool = yield* ToolPool.make({ ...Drive.options("prompt", 1), transport })
      const tool = yield* Effect.acquireRelease(
        Effect.sync(() => new Baseline.PromptTool()).pipe(Effect.tap((t) => Effect.promise(() => t.ready))),
        (t) => Effect.promise(() => t.close())
      )
      const base = (count: number) => Baseline.latencies(tool, count)
      yield* Drive.latencies(pool, plan.warmup)
      yield* Effect.promise(() => base(plan.warmup))
      const p50: Array<[number, number]> = []
      for (let run = 0; run < plan.runs; run++) {
        const ours: Array<number> = []
        const theirs: Array<number> = []
        for (let block = 0; block < plan.turns / BLOCK; block++) {
          const pool_ = Effect.map(Drive.latencies(pool, BLOCK), (samples) => ours.push(...samples))
          const base_ = Effect.map(Effect.promise(() => base(BLOCK)), (samples) => theirs.push(...samples))
          yield* (run + block) % 2 === 0 ? Effect.zipRight(pool_, base_) : Effect.zipRight(base_, pool_)
        }
        p50.push([percentile(ours, 0.5), percentile(theirs, 0.5)])
      }
      const med = (side: 0 | 1) => median(p50.map((pair) => pair[side]))
      // Only the default is held to the latency target; the others are there to be compared.
      return row(`turn latency p50, transport ${name}`, "ms", med(0), med(1), ratioAtMost(name === "pipes" ? 1.25 : 10))
    }).pipe(Effect.scoped))

/** An 8 MiB answer as `requestStream` parts, prompt framing, against a raw read of the pipe. */
export const streamed = (plan: { readonly bytes: number; readonly warmup: number; readonly runs: number }) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.make(Drive.options("prompt", 1))
    const raw = yield* Effect.acquireRelease(
      Effect.sync(() => new Baseline.RawTool("prompt")).pipe(Effect.tap((t) => Effect.promise(() => t.ready))),
      (t) => Effect.promise(() => t.close())
    )
    const ours = Effect.suspend(() => {
      const start = now()
      let streamed = 0
      let done = 0
      return pool.requestStream(0, `/flood ${plan.bytes}`).pipe(
        Stream.runForEach((part) =>
          Effect.sync(() => {
            if (part._tag === "Output") streamed += part.text.length
            else if (part._tag === "Done") done = part.output.length
          })
        ),
        Effect.flatMap(() => {
          const took = now() - start
          // the parts hold the answer (with the prompt), and Done the framed answer itself
          return streamed >= plan.bytes && done === plan.bytes
            ? Effect.succeed(took)
            : Effect.dieMessage(`streamed ${streamed} and answered ${done} characters, expected ${plan.bytes}`)
        })
      )
    })
    const theirs = async () => {
      const start = now()
      await raw.flood(plan.bytes)
      return now() - start
    }
    for (let i = 0; i < plan.warmup; i++) {
      yield* ours
      yield* Effect.promise(theirs)
    }
    const a: Array<number> = []
    const b: Array<number> = []
    for (let run = 0; run < plan.runs; run++) {
      const mine = Effect.map(ours, (ms) => a.push(ms))
      const base = Effect.map(Effect.promise(theirs), (ms) => b.push(ms))
      yield* run % 2 === 0 ? Effect.zipRight(mine, base) : Effect.zipRight(base, mine)
    }
    const rate = (millis: number) => plan.bytes / MiB / (millis / 1000)
    const rows: ReadonlyArray<Row> = [
      row(
        "8 MiB response streamed (requestStream), prompt framing",
        "MiB/s",
        rate(median(a)),
        rate(median(b)),
        ratioAtLeast(0.8)
      )
    ]
    return rows
  }).pipe(Effect.scoped)
