import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Presets, ToolPool } from "../../src/index.js"
import { lacks } from "../utils/installed.js"

const provide = Effect.provide(NodeContext.layer)
const bc = (overrides: Presets.Overrides = {}) =>
  Presets.bc({ turnTimeout: "10 seconds", grace: "200 millis", killAfter: "1 second", ...overrides })

describe.skipIf(lacks("bc"))("Presets.bc, on bc", () => {
  it.scopedLive("instances keep their own variables between turns", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(bc({ instances: 3 }))
      const set = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, `x = ${id + 2}`), {
        concurrency: "unbounded"
      })
      expect(set).toEqual(["", "", ""])
      const answers = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, "x ^ 10"), {
        concurrency: "unbounded"
      })
      expect(answers).toEqual(["1024", "59049", "1048576"])
    }).pipe(provide))

  it.scopedLive("several results, functions, and long numbers on one line", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(bc())
      expect(yield* pool.request(0, "define f(n) { if (n < 2) return 1; return n * f(n - 1); }")).toBe("")
      expect(yield* pool.request(0, "f(5)\nf(6)")).toBe("120\n720")
      const big = yield* pool.request(0, "2 ^ 300")
      expect(big).toBe(String(2n ** 300n))
      expect(yield* pool.request(0, "scale = 3; 10 / 4")).toBe("2.500")
    }).pipe(provide))

  it.scopedLive("an error goes to stderr and leaves the instance in step", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(bc())
      yield* pool.request(0, "y = 5")
      expect(yield* pool.request(0, "1 +")).toBe("")
      expect(yield* pool.request(0, "y * 2")).toBe("10")
      const [status] = yield* pool.status
      expect(status?.stderrTail).toContain("syntax error")
    }).pipe(provide))
})
