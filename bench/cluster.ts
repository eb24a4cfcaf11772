/**
 * The cluster rows: the same benchmark tool behind three `toolpool runner` processes on this
 * machine (SQLite storage, loopback ports), against a local pool in this process.
 *
 * - latency: sequential keyed turns through the cluster, against sequential keyed `submit`s on
 *   a local pool: what the hop to a runner (msgpack over a socket, the session entity's
 *   mailbox) adds to a turn.
 * - throughput: six workers sending keyless turns to 3 runners x 2 instances, against six
 *   workers on one local pool of six instances. Everything shares this machine's CPUs (the
 *   runners, their tools, this client), so this is the cost of the cluster's path, not a
 *   scale-out figure: more machines are what add capacity.
 *
 * The runners run `dist/bin.js` (which `npm run bench` builds first), their tools the
 * benchmark's copy of the mock tool; every answer is checked.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type * as ClusterModule from "../src/Cluster.js"
import * as Fixture from "./fixture.js"
import { ToolPool } from "./library.js"
import type { Row } from "./report.js"
import { ratioAtLeast, ratioAtMost, row } from "./report.js"
import { median, now, percentile } from "./stats.js"
import * as Drive from "./toolpool.js"

const source = process.env["TOOLPOOL_BENCH_SOURCE"] === "1"
const Cluster = (await import(source ? "../src/Cluster.js" : "../dist/Cluster.js")) as typeof ClusterModule
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))

export interface Plan {
  readonly warmup: number
  readonly turns: number
  readonly runs: number
}

const RUNNERS = 3
const PER_RUNNER = 2
const WORKERS = RUNNERS * PER_RUNNER

const freePort = Effect.async<number>((resume) => {
  const server = createServer().listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** One `toolpool runner`, serving once it says so; SIGTERM (and a wait for its exit) when the scope closes. */
const runner = (storage: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<ReturnType<typeof spawn>, Error>((resume) => {
      const child = spawn(process.execPath, [
        bin,
        "runner",
        "--storage",
        storage,
        "--listen",
        `127.0.0.1:${port}`,
        "--instances",
        String(PER_RUNNER),
        "--framing",
        "prompt",
        "--prompt",
        "> $",
        "--",
        Fixture.command,
        ...Fixture.toolArgs("prompt")
      ], { stdio: ["ignore", "ignore", "pipe"] })
      let stderr = ""
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8")
        if (stderr.includes(" serves ")) resume(Effect.succeed(child))
      })
      child.once("exit", (code) => resume(Effect.fail(new Error(`runner exited (${code}): ${stderr}`))))
    }),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )

const check = (i: number, output: string) => Fixture.checkReply("cluster", i, output)

/** Keyed probes answered by the same runners twice in a row, all three among them: the shards have settled. */
const settle = (client: ClusterModule.ClusterClient) =>
  Effect.gen(function*() {
    const probes = Array.from({ length: 30 }, (_, i) => `probe${i}`)
    let last = ""
    for (let stable = 0; stable < 2;) {
      const owners = yield* Effect.forEach(probes, (key) =>
        client.submit(Fixture.payload(0), { key }).pipe(
          Effect.map((turned) => turned.runner),
          Effect.orElseSucceed(() => "?")
        ), { concurrency: "unbounded" })
      const round = owners.join(" ")
      stable = round === last && new Set(owners).size === RUNNERS && !owners.includes("?") ? stable + 1 : 0
      last = round
      yield* Effect.sleep("500 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "90 seconds", onTimeout: () => new Error("the cluster did not settle") }))

/** `turns` sequential keyed turns; the duration of each in milliseconds. */
const keyedLatencies = (
  submit: (input: string) => Effect.Effect<{ readonly output: string }, unknown>,
  turns: number
) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    for (let i = 0; i < turns; i++) {
      const start = now()
      const { output } = yield* submit(Fixture.payload(i))
      samples.push(now() - start)
      check(i, output)
    }
    return samples
  })

/** `workers` workers taking `perWorker` keyless turns each through the cluster; the wall time in milliseconds. */
const clusterBusy = (client: ClusterModule.ClusterClient, perWorker: number) =>
  Effect.suspend(() => {
    const start = now()
    return Effect.forEach(Array.from({ length: WORKERS }, (_, w) => w), (w) =>
      Effect.gen(function*() {
        for (let i = 0; i < perWorker; i++) {
          const n = w * perWorker + i
          check(n, (yield* client.submit(Fixture.payload(n))).output)
        }
      }), { concurrency: "unbounded", discard: true }).pipe(Effect.map(() => now() - start))
  })

/** The cluster section: its two rows. */
export const cluster = (plan: Plan): Effect.Effect<ReadonlyArray<Row>, unknown> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "toolpool-bench-cluster-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const file = join(dir, "cluster.db")
    const ports = yield* Effect.all(Array.from({ length: RUNNERS }, () => freePort))
    yield* Effect.forEach(ports, (port) => runner(`sqlite:${file}`, port), { concurrency: "unbounded" })
    const context = yield* Layer.build(Cluster.layerClient({ storage: Cluster.sqlite(file) }))
    const client = Context.get(context, Cluster.ClusterClient)
    yield* settle(client)

    const local = yield* ToolPool.make(Drive.options("prompt", 1))
    const key = "bench"
    const viaCluster = (input: string) => client.submit(input, { key })
    const viaPool = (input: string) => local.submit(input, { key })
    yield* keyedLatencies(viaCluster, plan.warmup)
    yield* keyedLatencies(viaPool, plan.warmup)
    const ours: Array<number> = []
    const theirs: Array<number> = []
    for (let run = 0; run < plan.runs; run++) {
      const a = Effect.map(keyedLatencies(viaCluster, plan.turns), (samples) => ours.push(percentile(samples, 0.5)))
      const b = Effect.map(keyedLatencies(viaPool, plan.turns), (samples) => theirs.push(percentile(samples, 0.5)))
      yield* run % 2 === 0 ? Effect.zipRight(a, b) : Effect.zipRight(b, a)
    }
    const latency = row(
      "cluster turn p50 (baseline: local submit)",
      "ms",
      median(ours),
      median(theirs),
      ratioAtMost(10)
    )

    const pool = yield* ToolPool.make(Drive.options("prompt", WORKERS))
    const perWorker = Math.ceil(plan.turns / WORKERS)
    yield* clusterBusy(client, Math.ceil(plan.warmup / WORKERS))
    yield* Drive.busy(pool, WORKERS, Math.ceil(plan.warmup / WORKERS))
    const clusterMs: Array<number> = []
    const poolMs: Array<number> = []
    for (let run = 0; run < plan.runs; run++) {
      const a = Effect.map(clusterBusy(client, perWorker), (ms) => clusterMs.push(ms))
      const b = Effect.map(Drive.busy(pool, WORKERS, perWorker), (ms) => poolMs.push(ms))
      yield* run % 2 === 0 ? Effect.zipRight(a, b) : Effect.zipRight(b, a)
    }
    const rate = (ms: number) => (perWorker * WORKERS) / (ms / 1000)
    const throughput = row(
      `cluster throughput, ${RUNNERS} runners x ${PER_RUNNER} (baseline: one pool of ${WORKERS})`,
      "turns/s",
      rate(median(clusterMs)),
      rate(median(poolMs)),
      ratioAtLeast(0.3)
    )
    return [latency, throughput]
  }).pipe(Effect.scoped)
