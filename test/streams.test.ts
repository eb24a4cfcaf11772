import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import type { ToolPool } from "../src/index.js"
import { Framing, ToolPool as Pool, ToolPoolTest, Transport } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"

const text = (bytes: Chunk.Chunk<Uint8Array>) =>
  Chunk.toReadonlyArray(bytes).map((b) => Buffer.from(b).toString()).join("")

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("streaming turns", () => {
  it.scopedLive("requestStream yields a slow answer in several parts before the end", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make(mockTool())
      const parts = yield* collect(pool.requestStream(0, "/drip 4 60"))
      const outputs = parts.filter((part) => part._tag === "Output")
      expect(outputs.length).toBeGreaterThanOrEqual(3)
      expect(outputs.map((part) => part._tag === "Output" ? part.text : "").join("")).toContain("drop 4")
      expect(parts.at(-1)).toEqual({ _tag: "Done", instance: 0, output: "drop 1\ndrop 2\ndrop 3\ndrop 4" })
      // the instance serves the next turn as usual
      expect(yield* pool.request(0, "/echo after")).toBe("after")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a consumer that stops early abandons the turn, and the instance is healed", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make(mockTool({ healGrace: "2 seconds" }))
      const first = yield* collect(pool.requestStream(0, "/sleep 5000").pipe(Stream.take(0)))
      expect(first).toEqual([])
      // the abandoned turn was interrupted (SIGINT: "KeyboardInterrupt") and its answer dropped
      expect(yield* pool.request(0, "/echo in sync")).toBe("in sync")
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 0 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a failed turn fails the stream with the turn's typed error", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make(mockTool())
      const error = yield* Effect.flip(collect(pool.requestStream(0, "/crash 5")))
      expect(error).toMatchObject({ _tag: "InstanceExited", exitCode: 5 })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("submitStream is routed as submit is, and ends with the instance that answered", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2, respond: (input) => `<${input}>` })
      const parts = yield* collect(pool.submitStream("hi", { key: "k" }))
      const done = parts.at(-1)
      expect(done).toMatchObject({ _tag: "Done", output: "<hi>" })
      const again = yield* collect(pool.submitStream("again", { key: "k" }))
      expect(again.at(-1)).toMatchObject({ _tag: "Done", instance: done?._tag === "Done" ? done.instance : -1 })
    }))

  it.scoped("callStream shows the instance's notifications during the call, then the result", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        call: (method, _params, _instance, turn) =>
          Effect.gen(function*() {
            yield* turn.notify("progress", { step: 1 })
            yield* turn.notify("progress", { step: 2 })
            return { method }
          })
      })
      const parts = yield* collect(pool.callStream(0, "work", {}))
      expect(parts.filter((part) => part._tag === "Notification")).toEqual([
        { _tag: "Notification", method: "progress", params: { step: 1 } },
        { _tag: "Notification", method: "progress", params: { step: 2 } }
      ])
      expect(parts.at(-1)).toEqual({ _tag: "Result", instance: 0, result: { method: "work" } })
    }))

  it.scoped("notify sends a JSON-RPC notification the tool receives", () =>
    Effect.gen(function*() {
      // a JSON-RPC tool over ndjson that remembers notifications and tells them on "seen"
      const tool = Transport.scripted({
        start: (io) =>
          Effect.sync(() => {
            const notes: Array<unknown> = []
            return (input: string) => {
              const message = JSON.parse(input) as { id?: number; method: string; params?: unknown }
              if (message.id === undefined) {
                notes.push({ method: message.method, params: message.params })
                return Effect.void
              }
              return io.stdout(`${JSON.stringify({ jsonrpc: "2.0", id: message.id, result: notes })}\n`)
            }
          })
      })
      const pool = yield* Pool.make({ command: "rpc", framing: Framing.jsonRpc({ over: "ndjson" }), transport: tool })
      yield* pool.notify(0, "notifications/initialized", { ok: true })
      expect(yield* pool.call(0, "seen")).toEqual([{ method: "notifications/initialized", params: { ok: true } }])
    }))
})

describe("live output", () => {
  it.scopedLive("output(id) sees stray output between turns", () =>
    Effect.gen(function*() {
      const pool: ToolPool.ToolPool = yield* Pool.make(mockTool())
      const seen = yield* pool.output(0).pipe(
        Stream.map((bytes) => Buffer.from(bytes).toString()),
        Stream.takeUntil((chunk) => chunk.includes("unasked")),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.sleep("50 millis") // let the subscription start
      expect(yield* pool.request(0, "/later 100 unasked")).toBe("ok")
      const chunks = Chunk.toReadonlyArray(yield* Fiber.join(seen)).join("")
      expect(chunks).toContain("ok")
      expect(chunks).toContain("unasked")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("stderr(id) is the instance's stderr alone; both end when the pool shuts down", () =>
    Effect.gen(function*() {
      const pool = yield* Pool.make(mockTool())
      const errs = yield* Effect.fork(Stream.runCollect(pool.stderr(0)))
      const outs = yield* Effect.fork(Stream.runCollect(pool.output(0)))
      yield* Effect.sleep("50 millis")
      yield* pool.request(0, "/stderr to stderr")
      yield* pool.shutdown
      expect(text(yield* Fiber.join(errs))).toBe("to stderr\n")
      expect(text(yield* Fiber.join(outs))).not.toContain("to stderr")
    }).pipe(Effect.provide(NodeContext.layer)))
})
