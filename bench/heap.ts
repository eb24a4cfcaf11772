/**
 * Heap cost of idle instances in the parent, measured in a process of its own:
 *
 *   node --expose-gc --import tsx bench/heap.ts <toolpool|baseline> <instances>
 *
 * `main.ts` runs it; it prints one JSON line `{ "before", "after", "perInstance" }` (bytes).
 * heapUsed is read after forced collections, before the instances exist and once they are
 * up, have each answered one turn and sit idle. A warm-up pool comes and goes first, so that
 * modules, JIT code and lazily built state are not counted against the instances.
 */
import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { killAll, LinesTool } from "./baseline.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { sleep } from "./stats.js"
import * as Drive from "./toolpool.js"

const collect = async (): Promise<number> => {
  const gc = globalThis.gc
  if (gc === undefined) throw new Error("run with node --expose-gc")
  for (let i = 0; i < 6; i++) {
    gc()
    await sleep(20)
  }
  return process.memoryUsage().heapUsed
}

/** Starts `n` idle instances, each having answered one turn; returns how to stop them. */
type Starter = (n: number) => Promise<() => Promise<void>>

const toolpool: Starter = async (n) => {
  const scope = Effect.runSync(Scope.make())
  const pool = await Effect.runPromise(
    ToolPool.make(Drive.options("lines", n)).pipe(Scope.extend(scope), Effect.provide(NodeContext.layer))
  )
  await Effect.runPromise(
    Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => pool.request(i, Fixture.payload(i)), {
      concurrency: "unbounded",
      discard: true
    })
  )
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}

const baseline: Starter = async (n) => {
  const tools = Array.from({ length: n }, () => new LinesTool())
  await Promise.all(tools.map((tool, i) => tool.ready.then(() => tool.turn(Fixture.payload(i)))))
  return async () => {
    await Promise.all(tools.map((tool) => tool.close()))
  }
}

const main = async (): Promise<void> => {
  const [side, count] = process.argv.slice(2)
  const n = Number(count)
  const start = side === "toolpool" ? toolpool : side === "baseline" ? baseline : undefined
  if (start === undefined || !Number.isInteger(n) || n < 1) {
    throw new Error("usage: heap.ts <toolpool|baseline> <instances>")
  }
  await (await start(2))()
  const before = await collect()
  const stop = await start(n)
  await sleep(300)
  const after = await collect()
  await stop()
  console.log(JSON.stringify({ before, after, perInstance: (after - before) / n }))
}

main().catch((error: unknown) => {
  killAll()
  console.error(error)
  process.exitCode = 1
})
