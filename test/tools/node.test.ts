import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Presets, ToolPool } from "../../src/index.js"

const provide = Effect.provide(NodeContext.layer)
const node = (overrides: Presets.Overrides = {}) =>
  Presets.node({
    command: process.execPath,
    turnTimeout: "10 seconds",
    grace: "200 millis",
    killAfter: "1 second",
    ...overrides
  })

describe("Presets.node, on node", () => {
  it.scopedLive("instances keep their own bindings between turns", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(node({ instances: 3 }))
      const declared = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, `let x = ${id} * 10`), {
        concurrency: "unbounded"
      })
      expect(declared).toEqual(["", "", ""])
      const answers = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, "x + 1"), {
        concurrency: "unbounded"
      })
      expect(answers).toEqual(["1", "11", "21"])
    }).pipe(provide))

  it.scopedLive("several lines are one turn, answered when all have run, await included", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(node())
      const answer = yield* pool.request(
        0,
        [
          "function double(a) {",
          "  return a * 2",
          "}",
          "console.log('logged')",
          "await new Promise((resolve) => setTimeout(resolve, 200, 'awaited'))",
          "double(21)"
        ].join("\n")
      )
      expect(answer).toBe("logged\n'awaited'\n42")
      expect(yield* pool.request(0, "({ a: [1, 2], b: 'c' })")).toBe("{ a: [ 1, 2 ], b: 'c' }")
    }).pipe(provide))

  it.scopedLive("errors and console.error output are part of the response", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(node())
      expect(yield* pool.request(0, "notDefined")).toBe("Uncaught ReferenceError: notDefined is not defined")
      expect(yield* pool.request(0, "console.error('oops'); 'after'")).toBe("oops\n'after'")
    }).pipe(provide))

  it.scopedLive("an open bracket fails the turn with IncompleteInput; the next turn is clean", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(node())
      yield* pool.request(0, "const kept = 'yes'")
      const error = yield* Effect.flip(pool.request(0, "const values = [1, 2,"))
      expect(error._tag).toBe("IncompleteInput")
      expect(yield* pool.request(0, "kept")).toBe("'yes'")
      expect(yield* pool.request(0, "typeof values")).toBe("'undefined'")
    }).pipe(provide))

  it.scopedLive("a busy loop that times out is interrupted, and the instance keeps its state", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(node())
      yield* pool.request(0, "const state = 7")
      const error = yield* Effect.flip(pool.request(0, "while (true) {}", { timeout: "300 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      expect(yield* pool.request(0, "state * 6")).toBe("42")
      const [status] = yield* pool.status
      expect(status?.restarts).toBe(0)
    }).pipe(provide))
})
