import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Stream } from "effect"
import * as Cluster from "../src/Cluster.js"
import { mockTool } from "./utils/mockTool.js"
import { notesTool, parseNotes } from "./utils/notesTool.js"

describe("Cluster, in one process (TestRunner)", () => {
  it.scopedLive("a key keeps its instance, and its state, across turns", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const turns = (key: string) =>
        Effect.forEach(["a", "b", "c"], (note) => cluster.submit(`${key} ${note}`, { key }))
      const [alice, bob] = yield* Effect.all([turns("alice"), turns("bob")], { concurrency: 2 })
      expect(alice.map((t) => parseNotes(t.output).notes)).toEqual([["a"], ["a", "b"], ["a", "b", "c"]])
      expect(bob.map((t) => parseNotes(t.output).notes)).toEqual([["a"], ["a", "b"], ["a", "b", "c"]])
      expect(new Set(alice.map((t) => `${t.runner}/${t.instance}`)).size).toBe(1)
      expect(new Set(alice.map((t) => t.epoch)).size).toBe(1)
    }).pipe(Effect.provide(Cluster.layerTest(notesTool({ instances: 2 })))))

  it.scopedLive("keyless turns run, spread over the instances", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `k${i} x`),
        (input) => cluster.submit(input),
        { concurrency: 4 }
      )
      expect(results.map((r) => parseNotes(r.output).notes)).toEqual(results.map(() => ["x"]))
      expect(new Set(results.map((r) => r.instance)).size).toBeGreaterThan(1)
    }).pipe(Effect.provide(Cluster.layerTest(notesTool({ instances: 3 })))))

  it.scopedLive("a restarted tool resets the session: the next turn fails with SessionReset and does not run", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const first = yield* cluster.submit("carol a", { key: "carol" })
      const crashed = yield* Effect.either(cluster.submit("/crash", { key: "carol" }))
      expect(Either.isLeft(crashed) && crashed.left._tag).toBe("InstanceExited")
      const reset = yield* Effect.either(cluster.submit("carol b", { key: "carol" }))
      expect(Either.isLeft(reset) && reset.left._tag).toBe("SessionReset")
      if (Either.isLeft(reset) && reset.left._tag === "SessionReset") {
        expect(reset.left.expected).toBe(first.epoch)
        expect(reset.left.epoch).not.toBe(first.epoch)
      }
      // "carol b" was not run: the new session's first note is "c"
      const after = yield* cluster.submit("carol c", { key: "carol" })
      expect(parseNotes(after.output).notes).toEqual(["c"])
      expect(parseNotes(after.output).pid).not.toBe(parseNotes(first.output).pid)
    }).pipe(Effect.provide(Cluster.layerTest(notesTool({ instances: 1 })))))

  it.scopedLive("a pool failure crosses as the pool's tag, naming the runner", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const result = yield* Effect.either(cluster.submit("/crash", { key: "dave" }))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result) && result.left._tag === "InstanceExited") {
        expect(result.left.exitCode).toBe(3)
        expect(result.left.message).toMatch(/^runner localhost:\d+: instance 0 \(pid \d+\) exited with code 3/)
      } else {
        expect.fail(`expected InstanceExited, got ${JSON.stringify(result)}`)
      }
    }).pipe(Effect.provide(Cluster.layerTest(notesTool({ instances: 1 })))))

  it.scopedLive("a keyless turn finding every instance busy tries again until its acquire timeout, then fails with PoolBusy", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const long = yield* Effect.fork(cluster.submit("/sleep 1500"))
      yield* Effect.sleep("300 millis")
      const busy = yield* Effect.either(cluster.submit("/echo soon", { acquireTimeout: "300 millis" }))
      expect(Either.isLeft(busy) && busy.left._tag).toBe("PoolBusy")
      // with time to wait, the turn runs once the instance is free
      const waited = yield* cluster.submit("/echo later", { acquireTimeout: "10 seconds" })
      expect(waited.output).toBe("later")
      expect((yield* Fiber.join(long)).instance).toBe(0)
    }).pipe(Effect.provide(Cluster.layerTest(mockTool({ instances: 1 })))))

  it.scopedLive("submitStream: the parts as they come, then Done naming runner, instance and epoch", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      const first = yield* cluster.submit("/echo hello", { key: "erin" })
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(cluster.submitStream("/drip 3 50", { key: "erin" })))
      const text = parts.flatMap((p) => (p._tag === "Output" ? [p.text] : [])).join("")
      expect(text).toContain("drop 1\ndrop 2\ndrop 3")
      // the output arrived in pieces, before the end
      expect(parts.filter((p) => p._tag === "Output").length).toBeGreaterThan(1)
      const done = parts[parts.length - 1]
      expect(done?._tag).toBe("Done")
      if (done?._tag === "Done") {
        expect(done.instance).toBe(first.instance)
        expect(done.epoch).toBe(first.epoch)
        expect(done.output).toBe("drop 1\ndrop 2\ndrop 3")
      }
      // keyless streams too
      const keyless = Chunk.toReadonlyArray(yield* Stream.runCollect(cluster.submitStream("/echo anyone")))
      expect(keyless[keyless.length - 1]).toMatchObject({ _tag: "Done", output: "anyone" })
    }).pipe(Effect.provide(Cluster.layerTest(mockTool({ instances: 2 })))))

  it.scopedLive("submitStream on a rebuilt session fails with SessionReset before any part", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.ClusterClient
      yield* cluster.submit("/echo hi", { key: "fay" })
      yield* Effect.either(cluster.submit("/crash", { key: "fay" }))
      const parts: Array<Cluster.Part> = []
      const result = yield* Effect.either(
        Stream.runForEach(cluster.submitStream("/echo lost", { key: "fay" }), (p) => Effect.sync(() => parts.push(p)))
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("SessionReset")
      expect(parts).toEqual([])
      const after = yield* Stream.runCollect(cluster.submitStream("/echo back", { key: "fay" }))
      expect(Chunk.last(after).pipe((last) => last._tag === "Some" && last.value._tag)).toBe("Done")
    }).pipe(Effect.provide(Cluster.layerTest(mockTool({ instances: 1 })))))
})
