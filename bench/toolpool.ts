/**
 * The toolpool side: pool options for the benchmark tool and the loops that drive a pool.
 * Every loop checks each answer, so a fast but wrong pool cannot win.
 */
import * as Effect from "effect/Effect"
import type { ToolPool } from "../src/index.js"
import { Transport } from "../src/index.js"
import type * as PoolOptions from "../src/PoolOptions.js"
import * as Fixture from "./fixture.js"
import { Framing } from "./library.js"
import { now } from "./stats.js"

export type Mode = "prompt" | "lines"

/** Options of a pool of `instances` benchmark tools, stopped with the same grace and killAfter as the baseline. */
export const options = (mode: Mode, instances: number, ...flags: ReadonlyArray<string>): PoolOptions.Input => ({
  command: Fixture.command,
  args: Fixture.toolArgs(mode, ...flags),
  instances,
  framing: mode === "prompt" ? Framing.prompt(/> $/) : Framing.lines(),
  grace: `${Fixture.GRACE_MS} millis`,
  killAfter: `${Fixture.KILL_AFTER_MS} millis`
})

/** `turns` sequential turns on instance 0; the duration of each in milliseconds. */
export const latencies = (pool: ToolPool.ToolPool, turns: number): Effect.Effect<Array<number>, unknown> =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    for (let i = 0; i < turns; i++) {
      const start = now()
      const answer = yield* pool.request(0, Fixture.payload(i))
      samples.push(now() - start)
      // checked as the baseline checks its answers: a plain call (a wrong answer is a defect)
      Fixture.checkReply("toolpool", i, answer)
    }
    return samples
  })

/**
 * `workers` concurrent workers taking `perWorker` turns each through `submit`, on whichever
 * instance is free; the wall time in milliseconds.
 */
export const busy = (
  pool: ToolPool.ToolPool,
  workers: number,
  perWorker: number
): Effect.Effect<number, unknown> => {
  const worker = (w: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < perWorker; i++) {
        const n = w * perWorker + i
        Fixture.checkReply("toolpool", n, (yield* pool.submit(Fixture.payload(n))).output)
      }
    })
  return Effect.suspend(() => {
    const start = now()
    return Effect.forEach(Array.from({ length: workers }, (_, w) => w), worker, {
      concurrency: "unbounded",
      discard: true
    }).pipe(Effect.map(() => now() - start))
  })
}

/**
 * One turn that answers with `bytes` filler bytes; the time it took in milliseconds, up to the
 * first read of the answer's last character. The pool hands a long response over as V8 joined
 * its pieces, and the first read of a character copies it into one piece (about 5 ms for 8 MiB
 * here): a program that uses the answer pays that, so the figure includes it.
 */
export const flood = (pool: ToolPool.ToolPool, bytes: number): Effect.Effect<number, unknown> =>
  Effect.suspend(() => {
    const start = now()
    return Effect.flatMap(pool.request(0, `/flood ${bytes}`), (answer) => {
      const correct = answer.length === bytes && answer.charCodeAt(bytes - 1) === 0x78
      const took = now() - start
      return correct
        ? Effect.succeed(took)
        : Effect.dieMessage(`flood answered ${answer.length} characters, expected ${bytes}`)
    })
  })

/**
 * The floor of the probes (`floor.ts`, `cpu.ts`): a tool started by the pool's default transport
 * and read as the baseline reads it, with no pool, its banner already taken. `next` takes the
 * callback for the next reply (what came up to and including the prompt).
 */
export const bareTool = Effect.gen(function*() {
  const proc = yield* Transport.pipes().spawn({
    instance: 0,
    command: process.execPath,
    args: [Fixture.toolPath()],
    cwd: undefined,
    env: {},
    extendEnv: true
  }).pipe(Effect.orDie)
  const tool = Fixture.prompter()
  const decoder = new TextDecoder()
  proc.listen({
    stdout: (bytes) => tool.onData(decoder.decode(bytes, { stream: true })),
    stderr: () => {},
    closed: () => {},
    stdinError: () => {},
    exit: () => {}
  })
  yield* Effect.async<string>((resume) => tool.next((reply) => resume(Effect.succeed(reply))))
  return { proc, stdin: { write: (input: string) => proc.stdin.write(input) }, next: tool.next }
})
