/**
 * The pool over each transport, as a user picks one: by option, or for every pool through the
 * Effect context. The transports on their own (one conformance suite) are in
 * test/internal/process/.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Framing, ToolPool, Transport } from "../src/index.js"
import { fakeCommandExecutor } from "./utils/fakeCommandExecutor.js"
import type { FakeLog } from "./utils/fakeCommandExecutor.js"
import { mockTool } from "./utils/mockTool.js"

describe("Transport.commandExecutor", () => {
  it.scopedLive("drives a pool over a CommandExecutor of the test's own", () =>
    Effect.gen(function*() {
      const log: FakeLog = { started: [], signals: [] }
      const pool = yield* Effect.gen(function*() {
        const transport = yield* Transport.commandExecutor
        return yield* ToolPool.make({
          command: "echo-tool",
          args: ["-x"],
          instances: 2,
          framing: Framing.lines(),
          transport
        })
      }).pipe(Effect.provide(fakeCommandExecutor(log)))
      expect(yield* pool.request(0, "hello")).toBe("hello")
      expect(yield* pool.submit("world")).toMatchObject({ output: "world" })
      expect(log.started).toEqual([{ command: "echo-tool", args: ["-x"] }, { command: "echo-tool", args: ["-x"] }])
      const [first] = yield* pool.status
      expect(first?.pid).toBeGreaterThanOrEqual(50_000_000)
      // the fake's processes end when their stdin closes: a graceful stop, no signal needed
      yield* pool.shutdown
      expect(log.signals).toEqual([])
      expect((yield* pool.status).map((s) => s.state)).toEqual(["stopped", "stopped"])
    }))

  it.scopedLive("over Node's executor: turns, a crash typed with its stderr tail, a clean shutdown", () =>
    Effect.gen(function*() {
      const transport = yield* Transport.commandExecutor
      const pool = yield* ToolPool.make(mockTool({ transport, instances: 2 }))
      expect(yield* pool.request(0, "/echo over the platform's streams")).toBe("over the platform's streams")
      expect(yield* Effect.flip(pool.request(1, "/crash 4"))).toMatchObject({
        _tag: "InstanceExited",
        exitCode: 4,
        stderrTail: "crashing\n"
      })
      expect(yield* pool.request(0, "/ignore-sigterm")).toBe("ignoring SIGTERM")
      yield* pool.shutdown
      expect((yield* pool.status).every((s) => s.state === "stopped")).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Transport.Current", () => {
  it.scoped("replaces the default transport of every pool built under it", () =>
    Effect.gen(function*() {
      const shout = Transport.scripted({
        start: (io) => Effect.succeed((input: string) => io.stdout(input.toUpperCase()))
      })
      const pool = yield* ToolPool.make({ command: "anything", framing: Framing.lines() }).pipe(
        Effect.provide(Transport.layer(shout))
      )
      expect(yield* pool.request(0, "quiet")).toBe("QUIET")
    }))

  it.scoped("a transport that is not one is a ConfigError naming the option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        ToolPool.make({ command: "cat", transport: { name: "pipes" } as unknown as Transport.Transport })
      )
      expect(error).toMatchObject({ _tag: "ConfigError", field: "transport" })
    }))
})
