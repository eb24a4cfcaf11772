import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { fileURLToPath } from "node:url"
import { Framing, ToolPool } from "../src/index.js"

const echoingTool = fileURLToPath(new URL("../fixtures/echoing-tool.mjs", import.meta.url))

describe("stripEcho", () => {
  it.scopedLive("a turn waiting for the instance does not disturb the echo of the turn in flight", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make({
        command: process.execPath,
        args: [echoingTool],
        framing: Framing.prompt(/> $/, { stripEcho: true }),
        grace: "200 millis",
        killAfter: "500 millis"
      })
      const first = yield* Effect.fork(pool.request(0, "alpha"))
      yield* Effect.sleep("50 millis")
      const second = yield* Effect.fork(pool.request(0, "beta"))
      expect([yield* Fiber.join(first), yield* Fiber.join(second)]).toEqual(["result alpha", "result beta"])
    }).pipe(Effect.provide(NodeContext.layer)))
})
