import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Presets, ToolPool } from "../../src/index.js"
import { lacks } from "../utils/installed.js"

const provide = Effect.provide(NodeContext.layer)
const python = (overrides: Presets.Overrides = {}) =>
  Presets.python({ turnTimeout: "10 seconds", grace: "200 millis", killAfter: "1 second", ...overrides })

describe.skipIf(lacks("python3"))("Presets.python, on python3", () => {
  it.scopedLive("instances keep their own variables between turns", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python({ instances: 3 }))
      yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, `x = ${id} * 10`), { concurrency: "unbounded" })
      const answers = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, "x + 1"), {
        concurrency: "unbounded"
      })
      expect(answers).toEqual(["1", "11", "21"])
    }).pipe(provide))

  it.scopedLive("a block in one request is one turn, closed without an empty line", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python())
      expect(yield* pool.request(0, "def double(x):\n    return 2 * x")).toBe("")
      expect(yield* pool.request(0, "for i in range(3):\n    print(double(i))")).toBe("0\n2\n4")
      expect(yield* pool.request(0, "import math\nr = math.sqrt(16)\nprint(r)\nr * 2")).toBe("4.0\n8.0")
    }).pipe(provide))

  it.scopedLive("errors are part of the response, and the instance goes on", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python())
      const syntax = yield* pool.request(0, "def broken(:")
      expect(syntax).toContain("SyntaxError")
      const runtime = yield* pool.request(0, "1 / 0")
      expect(runtime).toMatch(/^Traceback \(most recent call last\):/)
      expect(runtime).toContain("ZeroDivisionError: division by zero")
      expect(yield* pool.request(0, "import sys; print('to stderr', file=sys.stderr); 'after'")).toBe(
        "to stderr\n'after'"
      )
    }).pipe(provide))

  it.scopedLive("an open bracket fails the turn with IncompleteInput; the next turn is clean", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python())
      yield* pool.request(0, "kept = 'yes'")
      const error = yield* Effect.flip(pool.request(0, "values = [1, 2,"))
      expect(error._tag).toBe("IncompleteInput")
      expect(yield* pool.request(0, "kept")).toBe("'yes'")
      expect(yield* pool.request(0, "'values' in dir()")).toBe("False")
    }).pipe(provide))

  it.scopedLive("a turn that times out is interrupted, and the instance keeps its state", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python())
      yield* pool.request(0, "state = 7")
      const error = yield* Effect.flip(pool.request(0, "import time\ntime.sleep(30)", { timeout: "300 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      expect(yield* pool.request(0, "state * 6")).toBe("42")
      const [status] = yield* pool.status
      expect(status?.restarts).toBe(0)
    }).pipe(provide))

  it.scopedLive("text without a final line break, and UTF-8, come back as printed", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python())
      expect(yield* pool.request(0, "print('no newline', end='')")).toBe("no newline")
      expect(yield* pool.request(0, "'héllo wörld ✓ ' * 2")).toBe("'héllo wörld ✓ héllo wörld ✓ '")
    }).pipe(provide))

  it.scopedLive("an answer over maxResponseBytes fails with ResponseTooLarge, and the next turn is in step", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(python({ maxResponseBytes: 1000 }))
      const error = yield* Effect.flip(pool.request(0, "print('x' * 5000)"))
      expect(error._tag).toBe("ResponseTooLarge")
      expect(yield* pool.request(0, "6 * 7")).toBe("42")
    }).pipe(provide))
})
