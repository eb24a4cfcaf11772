import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Transport } from "../../../src/index.js"
import type { FakeLog } from "../../utils/fakeCommandExecutor.js"
import { fakeCommandExecutor } from "../../utils/fakeCommandExecutor.js"
import { spec, watch, within } from "../../utils/watchedProcess.js"
import { conformance } from "./conformance.js"

conformance("command-executor (Node's executor)", {
  transport: Transport.commandExecutor.pipe(Effect.provide(NodeContext.layer)),
  terminal: false
})

describe("command-executor over a fake executor", () => {
  const started = (log: FakeLog) =>
    Effect.provide(Transport.commandExecutor, fakeCommandExecutor(log)).pipe(
      Effect.flatMap((transport) => watch(transport, spec("echo-tool", ["--fast"]), { stopOnClose: false }))
    )

  it.scopedLive("spawns through the executor in the context, and input comes back as output", () =>
    Effect.gen(function*() {
      const log: FakeLog = { started: [], signals: [] }
      const tool = yield* started(log)
      expect(log.started).toEqual([{ command: "echo-tool", args: ["--fast"] }])
      let written = 0
      tool.process.stdin.write("hello ", () => written++)
      tool.process.stdin.write(Buffer.from("wörld\n"), () => written++)
      yield* tool.until("the echo", (text) => text === "hello wörld\n")
      expect(written).toBe(2)
      expect(tool.process.stdin.buffered()).toBe(0)
      tool.process.stdin.end()
      expect(yield* within("exit", tool.exit)).toEqual({ code: 0, signal: null })
      yield* within("closed", tool.closed)
    }))

  it.scopedLive("signals go through the executor's kill, and signal 0 answers from the exit seen", () =>
    Effect.gen(function*() {
      const log: FakeLog = { started: [], signals: [] }
      const tool = yield* started(log)
      expect(tool.process.signal(0, "group")).toBe(true)
      expect(tool.process.signal("SIGTERM", "group")).toBe(true)
      expect(yield* within("exit", tool.exit)).toEqual({ code: null, signal: "SIGTERM" })
      expect(log.signals).toEqual(["SIGTERM"])
      expect(tool.process.signal(0, "group")).toBe(false)
      expect(tool.process.signal("SIGKILL", "group")).toBe(false)
      expect(log.signals).toEqual(["SIGTERM"])
    }))

  it.scopedLive("pause holds the output back until resume", () =>
    Effect.gen(function*() {
      const log: FakeLog = { started: [], signals: [] }
      const tool = yield* started(log)
      tool.process.pause("stdout")
      tool.process.stdin.write("held\n")
      yield* Effect.sleep("100 millis")
      expect(tool.text()).toBe("")
      tool.process.resume("stdout")
      yield* tool.until("the echo", (text) => text === "held\n")
    }))
})
