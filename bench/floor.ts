/**
 * A probe, not part of `npm run bench`: how close an Effect program can get to the baseline
 * over the pool's own pipes, with one `Effect.async` per turn and nothing else (no framing
 * decoder, lock, deadline or metrics). The pool's latency is judged against this floor.
 *
 *   npx tsx bench/floor.ts
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { executor, pipesOf } from "../src/internal/executor.js"
import * as Fixture from "./fixture.js"
import { now, percentile } from "./stats.js"

const TURNS = 20_000
const WARMUP = 2_000

/** Feeds `data` events through `onData` and resolves the reply that ends with the prompt. */
const prompter = () => {
  let buffer = ""
  let waiter: ((reply: string) => void) | undefined
  const onData = (text: string) => {
    buffer += text
    if (!buffer.endsWith(Fixture.PROMPT)) return
    const reply = buffer
    buffer = ""
    const wake = waiter
    waiter = undefined
    wake?.(reply)
  }
  const next = (wake: (reply: string) => void): void => {
    waiter = wake
  }
  return { onData, next }
}

const report = (name: string, samples: Array<number>) =>
  console.log(
    `${name.padEnd(8)} p50 ${(percentile(samples, 0.5) * 1000).toFixed(1)} us  p99 ${
      (percentile(samples, 0.99) * 1000).toFixed(1)
    } us`
  )

const plain = async () => {
  const child = spawn(process.execPath, [Fixture.toolPath()], { stdio: "pipe", detached: true })
  const tool = prompter()
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
    const start = now()
    await turn(`ping ${i}\n`)
    if (i >= WARMUP) samples.push(now() - start)
  }
  child.kill("SIGKILL")
  return samples
}

const floor = Effect.gen(function*() {
  const proc = yield* Command.start(Command.make(process.execPath, Fixture.toolPath()))
  const io = pipesOf(proc)
  if (io === undefined) return yield* Effect.dieMessage("not started by the pool's executor")
  const tool = prompter()
  io.stdout.setEncoding("utf8").on("data", tool.onData)
  io.stderr.resume()
  const turn = (input: string) =>
    Effect.async<string>((resume) => {
      tool.next((reply) => resume(Effect.succeed(reply)))
      io.stdin.write(input)
    })
  yield* Effect.async<string>((resume) => tool.next((reply) => resume(Effect.succeed(reply))))
  const samples: Array<number> = []
  for (let i = 0; i < WARMUP + TURNS; i++) {
    const start = now()
    yield* turn(`ping ${i}\n`)
    if (i >= WARMUP) samples.push(now() - start)
  }
  yield* proc.kill("SIGKILL")
  return samples
}).pipe(Effect.scoped, Effect.provideService(CommandExecutor.CommandExecutor, executor))

for (let run = 0; run < 2; run++) {
  report("baseline", await plain())
  report("floor", await Effect.runPromise(floor))
}
