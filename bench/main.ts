/**
 * `npm run bench [-- --json FILE] [--quick] [--only SECTION,...] [--cpu N | --free]`
 *
 * Measures toolpool against a plain `child_process` + `readline` baseline driving the same
 * tool (see README.md), prints a table and, with `--json`, writes its rows to FILE.
 * Sections: latency, throughput, spawn, large, heap, shutdown, transports, stream, and when named,
 * cluster (`cluster.ts`). Latency and throughput run on one CPU (the first this process may use,
 * or `--cpu N`) unless `--free` (see `placement.ts`).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import * as Baseline from "./baseline.js"
import { cluster } from "./cluster.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import { allowedCpus, runOn } from "./placement.js"
import type { Row } from "./report.js"
import { atMost, ratioAtLeast, ratioAtMost, row, table } from "./report.js"
import { KiB, median, MiB, now, percentile, settledAfter, sleep } from "./stats.js"
import * as Drive from "./toolpool.js"
import * as Transports from "./transports.js"

// ---------------------------------------------------------------------------
// Command line and plan
// ---------------------------------------------------------------------------

const SECTIONS = [
  "latency",
  "throughput",
  "spawn",
  "large",
  "heap",
  "shutdown",
  "transports",
  "stream",
  "cluster"
] as const
type Section = typeof SECTIONS[number]

interface Args {
  readonly json: string | undefined
  readonly quick: boolean
  readonly only: ReadonlySet<Section>
  /** The CPU of the turn-by-turn sections (latency, throughput); undefined with `--free`. */
  readonly cpu: number | undefined
}

const USAGE = "usage: bench [--json FILE] [--quick] [--only SECTION,...] [--cpu N | --free]"

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  let json: string | undefined
  let quick = false
  // the cluster section starts runner processes of its own: run only when asked (`--only cluster`)
  let only = new Set<Section>(SECTIONS.filter((section) => section !== "cluster"))
  let cpu: number | undefined = allowedCpus()[0]
  let free = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--json") json = argv[++i]
    else if (arg === "--quick") quick = true
    else if (arg === "--only") {
      const names = (argv[++i] ?? "").split(",")
      const unknown = names.filter((name) => !(SECTIONS as ReadonlyArray<string>).includes(name))
      if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`)
      only = new Set(names as Array<Section>)
    } else if (arg === "--cpu") {
      const value = argv[++i] ?? ""
      cpu = /^\d+$/.test(value) ? Number(value) : Number.NaN
      if (!allowedCpus().includes(cpu)) {
        throw new Error(`--cpu takes one of this process's CPUs: ${allowedCpus().join(", ")}`)
      }
    } else if (arg === "--free") free = true
    else throw new Error(`unknown argument ${arg}; ${USAGE}`)
  }
  if (json === "") throw new Error("--json needs a file name")
  return { json, quick, only, cpu: free ? undefined : cpu }
}

const args = ((): Args => {
  try {
    return parseArgs(process.argv.slice(2))
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`)
    return process.exit(2)
  }
})()

/** How much work each section does. `--quick` is for trying the benchmark out, not for figures. */
const plan = args.quick
  ? {
    latency: { warmup: 200, turns: 500, runs: 3 },
    throughput: { instances: [1, 4, 16], warmup: (_instances: number) => 20, turns: 400, runs: 3 },
    spawn: { sizes: [[1, 3], [8, 3], [64, 1]] as ReadonlyArray<readonly [number, number]> },
    large: { bytes: 8 * MiB, warmup: 1, runs: 3 },
    heap: { sizes: [16, 64] },
    shutdown: { instances: 16, runs: 1 },
    transports: { warmup: 200, turns: 500, runs: 3 },
    stream: { bytes: 8 * MiB, warmup: 1, runs: 3 },
    cluster: { warmup: 200, turns: 300, runs: 1 }
  }
  : {
    // Warm-up: V8 is still compiling the turn's path over the first few thousand turns of a
    // process, so each side takes 5000 turns before anything is timed. With several workers
    // both sides take longer to settle (`settledAfter`: 24,000 turns, or 2500 per instance).
    latency: { warmup: 5000, turns: 3000, runs: 5 },
    throughput: { instances: [1, 4, 16], warmup: settledAfter, turns: 3200, runs: 11 },
    spawn: { sizes: [[1, 7], [8, 5], [64, 3]] as ReadonlyArray<readonly [number, number]> },
    large: { bytes: 8 * MiB, warmup: 5, runs: 5 },
    heap: { sizes: [64, 256] },
    shutdown: { instances: 16, runs: 3 },
    transports: { warmup: 2000, turns: 1500, runs: 3 },
    stream: { bytes: 8 * MiB, warmup: 5, runs: 5 },
    cluster: { warmup: 2000, turns: 1200, runs: 3 }
  }

const range = (n: number): Array<number> => Array.from({ length: n }, (_, i) => i)

/** Measures both sides `runs` times, alternating which goes first, and returns the medians. */
const alternate = <E, R>(
  runs: number,
  toolpool: Effect.Effect<number, E, R>,
  baseline: () => Promise<number>
): Effect.Effect<{ readonly toolpool: number; readonly baseline: number }, E, R> =>
  Effect.gen(function*() {
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let run = 0; run < runs; run++) {
      const base = Effect.promise(baseline).pipe(Effect.map((ms) => theirs.push(ms)))
      const pool = Effect.map(toolpool, (ms) => ours.push(ms))
      yield* run % 2 === 0 ? Effect.zipRight(pool, base) : Effect.zipRight(base, pool)
    }
    return { toolpool: median(ours), baseline: median(theirs) }
  })

/** A baseline tool that is closed when the scope ends. */
const baselineTool = <T extends { readonly ready: Promise<void>; close(): Promise<void> }>(make: () => T) =>
  Effect.acquireRelease(
    Effect.sync(make).pipe(Effect.tap((tool) => Effect.promise(() => tool.ready))),
    (tool) => Effect.promise(() => tool.close())
  )

const log = (message: string) => Effect.sync(() => console.error(`[bench] ${message}`))

// ---------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------

/** Turns per block of one side in the latency section. */
const LATENCY_BLOCK = 250

/** Sequential turns on one instance, prompt framing: p50 and p99 of the turn time. */
const latency = Effect.gen(function*() {
  const { runs, turns, warmup } = plan.latency
  const poolUnderTest = yield* ToolPool.make(Drive.options("prompt", 1))
  const tool = yield* baselineTool(() => new Baseline.PromptTool())
  const baseLatencies = (count: number) => Baseline.latencies(tool, count)
  yield* Drive.latencies(poolUnderTest, warmup)
  yield* Effect.promise(() => baseLatencies(warmup))
  const p50: Array<[number, number]> = []
  const p99: Array<[number, number]> = []
  for (let run = 0; run < runs; run++) {
    // The two sides take turns in short blocks, so that a change in the machine's load within a
    // run (this kind of machine is shared) falls on both alike.
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let block = 0; block < turns / LATENCY_BLOCK; block++) {
      const pool = Effect.map(Drive.latencies(poolUnderTest, LATENCY_BLOCK), (samples) => ours.push(...samples))
      const base = Effect.promise(() => baseLatencies(LATENCY_BLOCK)).pipe(
        Effect.map((samples) => theirs.push(...samples))
      )
      yield* (run + block) % 2 === 0 ? Effect.zipRight(pool, base) : Effect.zipRight(base, pool)
    }
    p50.push([percentile(ours, 0.5), percentile(theirs, 0.5)])
    p99.push([percentile(ours, 0.99), percentile(theirs, 0.99)])
  }
  const med = (pairs: ReadonlyArray<[number, number]>, side: 0 | 1) => median(pairs.map((pair) => pair[side]))
  return [
    row("turn latency p50, 1 instance", "ms", med(p50, 0), med(p50, 1), ratioAtMost(1.25)),
    row("turn latency p99, 1 instance", "ms", med(p99, 0), med(p99, 1), ratioAtMost(2.0))
  ]
}).pipe(Effect.scoped)

/** `n` instances kept busy by `n` workers, prompt framing: completed turns per second. */
const throughput = Effect.forEach(plan.throughput.instances, (n) =>
  Effect.gen(function*() {
    const { runs, turns } = plan.throughput
    const warmup = plan.throughput.warmup(n)
    const perWorker = Math.ceil(turns / n)
    const pool = yield* ToolPool.make(Drive.options("prompt", n))
    const tools = yield* Effect.forEach(range(n), () => baselineTool(() => new Baseline.PromptTool()))
    const baseBusy = (perWorker: number) => Baseline.busy(tools, perWorker)
    // the warm-up counts turns in all (split over the workers), as the timed runs do
    yield* Drive.busy(pool, n, Math.ceil(warmup / n))
    yield* Effect.promise(() => baseBusy(Math.ceil(warmup / n)))
    const ms = yield* alternate(runs, Drive.busy(pool, n, perWorker), () => baseBusy(perWorker))
    const rate = (millis: number) => (perWorker * n) / (millis / 1000)
    return row(
      `throughput, ${n} instance${n === 1 ? "" : "s"}`,
      "turns/s",
      rate(ms.toolpool),
      rate(ms.baseline),
      ratioAtLeast(0.8)
    )
  }).pipe(Effect.scoped))

/** From nothing to `n` instances that have each shown their first prompt. */
const spawn = Effect.gen(function*() {
  const toolpool = (n: number) =>
    Effect.gen(function*() {
      const start = now()
      yield* ToolPool.make(Drive.options("prompt", n))
      return now() - start
    }).pipe(Effect.scoped)
  const baseline = async (n: number): Promise<number> => {
    const start = now()
    const tools = range(n).map(() => new Baseline.PromptTool())
    try {
      await Promise.all(tools.map((tool) => tool.ready))
      return now() - start
    } finally {
      await Promise.all(tools.map((tool) => tool.close()))
    }
  }
  yield* toolpool(4)
  yield* Effect.promise(() => baseline(4))
  const rows: Array<Row> = []
  for (const [n, runs] of plan.spawn.sizes) {
    const ms = yield* alternate(runs, toolpool(n), () => baseline(n))
    rows.push(
      row(`spawn to ready, ${n} instance${n === 1 ? "" : "s"}`, "ms", ms.toolpool, ms.baseline, ratioAtMost(1.2))
    )
  }
  return rows
})

/** One turn whose answer is 8 MiB of filler, through each framing, against a raw read of the pipe. */
const large = Effect.forEach(["prompt", "lines"] as const, (mode) =>
  Effect.gen(function*() {
    const { bytes, runs } = plan.large
    const pool = yield* ToolPool.make(Drive.options(mode, 1))
    const raw = yield* baselineTool(() => new Baseline.RawTool(mode))
    const rawFlood = async () => {
      const start = now()
      await raw.flood(bytes)
      return now() - start
    }
    // Warm-up: a few floods each, so that both sides' code is compiled before it is timed.
    for (let i = 0; i < plan.large.warmup; i++) {
      yield* Drive.flood(pool, bytes)
      yield* Effect.promise(rawFlood)
    }
    const ms = yield* alternate(runs, Drive.flood(pool, bytes), rawFlood)
    const rate = (millis: number) => bytes / MiB / (millis / 1000)
    return row(`8 MiB response, ${mode} framing`, "MiB/s", rate(ms.toolpool), rate(ms.baseline), ratioAtLeast(0.5))
  }).pipe(Effect.scoped))

/** Heap per idle instance, each side in a child process of its own (`heap.ts`). */
const heap = Effect.gen(function*() {
  const script = fileURLToPath(new URL("heap.ts", import.meta.url))
  const measure = (side: "toolpool" | "baseline", n: number) =>
    Effect.async<number>((resume) => {
      const child = execFile(
        process.execPath,
        ["--expose-gc", "--import", "tsx", script, side, String(n)],
        { maxBuffer: 1 << 20 },
        (error, stdout, stderr) => {
          if (error !== null) return resume(Effect.die(new Error(`heap.ts ${side} ${n} failed: ${stderr}`)))
          const result: unknown = JSON.parse(stdout.trim().split("\n").pop() ?? "{}")
          const perInstance = (result as { perInstance?: unknown }).perInstance
          resume(typeof perInstance === "number" ? Effect.succeed(perInstance) : Effect.die(`bad output ${stdout}`))
        }
      )
      return Effect.sync(() => child.kill("SIGINT"))
    })
  const rows: Array<Row> = []
  for (const n of plan.heap.sizes) {
    const ours = yield* measure("toolpool", n)
    const theirs = yield* measure("baseline", n)
    rows.push(
      row(`heap per idle instance, ${n} instances`, "bytes", ours, theirs, atMost(64 * KiB, `${64 * KiB} (64 KiB)`))
    )
  }
  return rows
})

/**
 * Stopping 16 tools that ignore SIGTERM: idle ones (they leave at stdin EOF) and hung ones
 * (`/hang`: they ignore stdin too, so only SIGKILL ends them). A toolpool shutdown still
 * running at `cap` is recorded as `cap` (so the figure is a lower bound) and the bench then
 * kills the tools itself, so that the run goes on and leaves nothing behind.
 */
const shutdown = Effect.gen(function*() {
  const { instances, runs } = plan.shutdown
  const bound = Fixture.GRACE_MS + Fixture.KILL_AFTER_MS + 500
  const cap = 3 * bound
  const gone = (pids: ReadonlyArray<number>) =>
    pids.every((pid) => {
      try {
        process.kill(pid, 0)
        return false
      } catch {
        return true
      }
    })
  const killGroup = (pid: number) => {
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  const toolpool = (hung: boolean) =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(Drive.options("prompt", instances, "--ignore-sigterm"))
      const pids = (yield* pool.status).flatMap((s) => s.pid === null ? [] : [s.pid])
      if (hung) yield* Effect.forEach(range(instances), (i) => pool.send(i, "/hang"), { discard: true })
      yield* Effect.sleep("200 millis")
      const start = now()
      const finished = yield* pool.shutdown.pipe(
        Effect.disconnect,
        Effect.timeoutTo({ duration: cap, onSuccess: () => true, onTimeout: () => false })
      )
      const took = now() - start
      if (!finished) {
        yield* log(`toolpool shutdown still running after ${cap} ms: killing its tools`)
        for (const pid of pids) killGroup(pid)
        yield* pool.shutdown
      }
      if (!gone(pids)) return yield* Effect.dieMessage("toolpool shutdown left a tool running")
      return took
    }).pipe(Effect.scoped)
  const baseline = (hung: boolean) => async (): Promise<number> => {
    const tools = range(instances).map(() => new Baseline.PromptTool("--ignore-sigterm"))
    try {
      await Promise.all(tools.map((tool) => tool.ready))
      if (hung) { for (const tool of tools) tool.child.stdin.write("/hang\n") }
      await sleep(200)
      const start = now()
      await Promise.all(tools.map((tool) => tool.stop(Fixture.GRACE_MS, Fixture.KILL_AFTER_MS)))
      return now() - start
    } finally {
      await Promise.all(tools.map((tool) => tool.close()))
    }
  }
  const rows: Array<Row> = []
  for (const hung of [false, true]) {
    const ms = yield* alternate(runs, toolpool(hung), baseline(hung))
    rows.push(row(
      `shutdown, ${instances} ${hung ? "hung" : "idle"} tools ignoring SIGTERM`,
      "ms",
      ms.toolpool,
      ms.baseline,
      atMost(bound, `${bound} (grace + killAfter + 500 ms)`)
    ))
  }
  return rows
})

// ---------------------------------------------------------------------------

const sections: ReadonlyArray<readonly [Section, Effect.Effect<ReadonlyArray<Row>, unknown, CommandExecutor>]> = [
  ["latency", latency],
  ["throughput", throughput],
  ["spawn", spawn],
  ["large", large],
  ["heap", heap],
  ["shutdown", shutdown],
  ["transports", Transports.transports(plan.transports)],
  ["stream", Transports.streamed(plan.stream)],
  ["cluster", cluster(plan.cluster)]
]

/** Sections whose processes all run on `args.cpu` (see `placement.ts`). */
const PINNED: ReadonlySet<Section> = new Set(["latency", "throughput"])
const everyCpu = allowedCpus()

const placement = args.cpu === undefined
  ? "placement: free (the kernel places the parent and the tools)"
  : `placement: latency and throughput with the parent and every tool on CPU ${args.cpu}, ` +
    "the other sections free (--free: all free)"

/** Pins this process (and the tools it starts from now on) for `section`, or frees it. */
const placeFor = (section: Section) =>
  Effect.sync(() => {
    if (args.cpu === undefined) return
    runOn(PINNED.has(section) ? [args.cpu] : everyCpu)
  })

const program = Effect.gen(function*() {
  const started = now()
  const rows: Array<Row> = []
  yield* log(placement)
  for (const [name, section] of sections) {
    if (!args.only.has(name)) continue
    const sectionStart = now()
    yield* placeFor(name)
    yield* log(`${name}...`)
    rows.push(...(yield* section))
    yield* log(`${name} took ${((now() - sectionStart) / 1000).toFixed(1)} s`)
  }
  console.log(table(rows))
  console.log(
    `\n${rows.filter((r) => !r.met).length} of ${rows.length} targets missed; whole run ${
      ((now() - started) / 1000).toFixed(0)
    } s; ${placement}`
  )
  if (args.json !== undefined) {
    mkdirSync(dirname(args.json), { recursive: true })
    writeFileSync(args.json, JSON.stringify(rows, null, 2) + "\n")
  }
})

Baseline.useToolCopy()

// The process ends once the report is out. After the cluster section, @effect/rpc socket clients
// of the cluster client's connections to the runners outlived the client's scope (27 of 30 in a
// `--only cluster --quick` run: each an Effect.never in @effect/rpc's withRun and a 5 s reconnect
// timer, the runners gone), and they kept the process alive for ever. The cause is not pinned
// down (bench/README.md); a small client over three runners, the same 30 first keys included,
// leaves nothing behind (see the note of issue 17's session).
NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)), {
  teardown: (exit, onExit) => {
    const code = exit._tag === "Success" ? 0 : 1
    onExit(code)
    process.exit(code)
  }
})
