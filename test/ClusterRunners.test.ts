/**
 * Three `toolpool runner` processes on loopback and a client (this process), over SQLite, and
 * over Postgres when TOOLPOOL_TEST_POSTGRES_URL names a server (`.ci/run` starts one).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, ManagedRuntime, Redacted, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cluster from "../src/Cluster.js"
import type { ClusterError } from "../src/ClusterError.js"
import { parseNotes } from "./utils/notesTool.js"
import { running } from "./utils/processes.js"
import type { RunnerProcess } from "./utils/runners.js"
import { freePort, startRunner } from "./utils/runners.js"

const LOCK_EXPIRATION = "5 seconds"

type Outcome = Either.Either<Cluster.Submitted, ClusterError>

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const until = async (what: string, condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(100)
  }
}

/** The whole story, on storage given as the command line and as the library take it. */
const threeRunners = async (storageFlag: string, storage: Cluster.Storage) => {
  const ports = [await freePort(), await freePort(), await freePort()]
  const runners: Array<RunnerProcess> = []
  const client = ManagedRuntime.make(Cluster.layerClient({ storage, tuning: { lockExpiration: LOCK_EXPIRATION } }))
  const submit = (input: string, key: string | undefined): Promise<Outcome> =>
    client.runPromise(Effect.either(Effect.flatMap(
      Cluster.ClusterClient,
      (cluster) => cluster.submit(input, { key, timeout: "10 seconds" })
    )))
  const tools = new Set<number>()
  const noteTools = () => runners.forEach((r) => r.tools().forEach((pid) => tools.add(pid)))
  try {
    runners.push(
      ...await Promise.all(
        ports.map((port) => startRunner({ storage: storageFlag, port, instances: 2, lockExpiration: LOCK_EXPIRATION }))
      )
    )
    noteTools()
    expect(tools.size).toBe(6)

    // The first runner to register takes every shard; wait until they are spread over all three.
    const probes = Array.from({ length: 30 }, (_, i) => `probe${i}`)
    let last = ""
    let stableRounds = 0
    const settleBy = Date.now() + 60_000
    while (stableRounds < 2) {
      if (Date.now() > settleBy) throw new Error(`shards did not settle; last round: ${last}`)
      const round = await Promise.all(probes.map((key) => submit(`${key} x`, key)))
      const owners = round.map((o) => (Either.isRight(o) ? o.right.runner : "?")).join(" ")
      const spread = new Set(round.flatMap((o) => (Either.isRight(o) ? [o.right.runner] : []))).size
      stableRounds = owners === last && spread === 3 && !owners.includes("?") ? stableRounds + 1 : 0
      last = owners
      if (stableRounds < 2) await sleep(500)
    }

    // Every turn of a key is checked against what the key's tool must hold: an answer shows
    // exactly the notes since the key's last SessionReset (nothing lost, nothing run twice).
    const keys = Array.from({ length: 12 }, (_, i) => `key${i}`)
    const held = new Map<string, Array<string>>(keys.map((key) => [key, []]))
    const home = new Map<string, string>()
    const turn = async (key: string, note: string): Promise<"ran" | "reset"> => {
      const answer = await submit(`${key} ${note}`, key)
      const notes = held.get(key) ?? []
      if (Either.isLeft(answer)) {
        if (answer.left._tag !== "SessionReset") throw new Error(`${key}: ${answer.left.message}`)
        held.set(key, [])
        home.delete(key)
        return "reset"
      }
      notes.push(note)
      expect(parseNotes(answer.right.output).notes).toEqual(notes)
      const at = `${answer.right.runner}/${answer.right.instance}`
      expect(home.get(key) ?? at).toBe(at)
      home.set(key, at)
      return "ran"
    }

    /** Rounds of turns on `keys` until one where every turn ran (30 s at most). */
    const settled = async (of: ReadonlyArray<string>, note: string) => {
      const by = Date.now() + 30_000
      for (let round = 0;; round++) {
        const outcomes = await Promise.all(of.map((key) => turn(key, `${note}${round}`)))
        if (outcomes.every((o) => o === "ran")) return
        if (Date.now() > by) throw new Error(`keys still resetting after 30 s: ${outcomes.join(" ")}`)
      }
    }

    // Affinity: every key keeps its runner, its instance and its notes across turns.
    for (const note of ["a", "b", "c"]) {
      expect(await Promise.all(keys.map((key) => turn(key, note)))).toEqual(keys.map(() => "ran"))
    }
    // A streamed turn goes the same way: over the socket, on the key's instance, on its notes.
    const streamed = await client.runPromise(Effect.either(Effect.flatMap(
      Cluster.ClusterClient,
      (cluster) => Stream.runCollect(cluster.submitStream("key0 s", { key: "key0", timeout: "10 seconds" }))
    )))
    if (Either.isLeft(streamed)) throw new Error(`a streamed turn failed: ${streamed.left.message}`)
    const end = Chunk.last(streamed.right)
    if (end._tag === "None" || end.value._tag !== "Done") throw new Error("a streamed turn ends with Done")
    expect(`${end.value.runner}/${end.value.instance}`).toBe(home.get("key0"))
    held.get("key0")?.push("s")
    expect(parseNotes(end.value.output).notes).toEqual(held.get("key0"))

    const keysOf = (runner: RunnerProcess) => keys.filter((key) => home.get(key)?.startsWith(`${runner.name}/`))
    expect(runners.filter((r) => keysOf(r).length > 0).length).toBeGreaterThanOrEqual(2)

    // SIGTERM: the runner hands its shards over and stops its tools.
    const byKeys = [...runners].sort((a, b) => keysOf(b).length - keysOf(a).length)
    const stopped = byKeys[0]
    const killed = byKeys[1]
    const survivor = byKeys[2]
    if (stopped === undefined || killed === undefined || survivor === undefined) throw new Error("three runners")
    const stoppedTools = stopped.tools()
    const moved = keysOf(stopped)
    const termAt = Date.now()
    stopped.process.kill("SIGTERM")
    const termExit = await stopped.exited
    console.log(`SIGTERM: runner exited in ${Date.now() - termAt} ms (${termExit.code ?? termExit.signal})`)
    expect(termExit.code).toBe(143)
    expect(stoppedTools.filter(running)).toEqual([])

    // Its keys: the next turn fails with SessionReset without running. Other keys run on, or reset
    // when the new assignment moved their shard too; while the assignment settles (a loaded
    // machine may take two steps) a key can reset again, and every answer still shows exactly
    // the notes since its last reset (checked by `turn`).
    const afterStop = await Promise.all(keys.map((key) => turn(key, "d")))
    keys.forEach((key, i) => moved.includes(key) && expect(afterStop[i]).toBe("reset"))
    console.log(
      `SIGTERM: ${moved.length} keys on the stopped runner, ` +
        `${afterStop.filter((r) => r === "reset").length - moved.length} others moved by the new assignment`
    )
    await settled(keys, "e")
    for (const key of moved) expect(home.get(key)?.startsWith(`${stopped.name}/`)).toBe(false)

    // SIGKILL: the runner's keys are served elsewhere once its shard locks expire.
    const lostKeys = keysOf(killed)
    const lost = lostKeys[0]
    if (lost === undefined) throw new Error(`runner ${killed.name} holds no key: ${JSON.stringify([...home])}`)
    const killedTools = killed.tools()
    const killAt = Date.now()
    killed.process.kill("SIGKILL")
    const afterKill = await turn(lost, "lost")
    const failover = Date.now() - killAt
    console.log(`SIGKILL: key ${lost} answered by another runner after ${failover} ms (lock expiration 5 s)`)
    expect(afterKill).toBe("reset")
    expect(failover).toBeLessThan(20_000)
    await settled([lost], "f")
    expect(home.get(lost)?.startsWith(`${survivor.name}/`)).toBe(true)
    expect(await turn(lost, "g")).toBe("ran")
    // Its tools see their stdin close and exit.
    await until("the killed runner's tools are gone", () => killedTools.filter(running).length === 0, 10_000)

    // Keyless turns still run, on the survivor.
    const keyless = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(`anon${i} x`, undefined)))
    for (const answer of keyless) {
      if (Either.isLeft(answer)) expect(answer.left._tag).toBe("SessionReset")
      else expect(answer.right.runner).toBe(survivor.name)
    }

    survivor.process.kill("SIGTERM")
    expect((await survivor.exited).code).toBe(143)
    noteTools()
    expect([...tools].filter(running)).toEqual([])
  } finally {
    for (const runner of runners) if (runner.process.exitCode === null) runner.process.kill("SIGKILL")
    await client.dispose()
  }
}

describe("Cluster: three runner processes and a client", () => {
  it(
    "over SQLite: affinity, SIGTERM moves sessions (SessionReset once), SIGKILL fails over, no tool left",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "toolpool-cluster-"))
      const file = join(dir, "cluster.db")
      try {
        await threeRunners(`sqlite:${file}`, Cluster.sqlite(file))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    240_000
  )

  const postgres = process.env.TOOLPOOL_TEST_POSTGRES_URL
  it.skipIf(postgres === undefined)("over Postgres: the same", async () => {
    const url = postgres ?? ""
    const database = `toolpool_test_${process.pid}_${Date.now()}`
    const admin = (statement: string) =>
      Effect.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
          Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
          Effect.scoped,
          Effect.tapErrorCause((cause) => Effect.sync(() => console.error(`${statement}: ${String(cause)}`)))
        )
      )
    await admin(`CREATE DATABASE ${database}`)
    const target = new URL(url)
    target.pathname = `/${database}`
    try {
      await threeRunners(`postgres:${target.href}`, Cluster.postgres(target.href))
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    }
  }, 240_000)
})
