import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { readFileSync } from "node:fs"
import { program as demo } from "../examples/demo.js"
import { program as ptyStream } from "../examples/pty-stream.js"
import { program as seed } from "../examples/seed.js"
import { lacks } from "./utils/installed.js"
import { lacksNodePty } from "./utils/nodePty.js"

const noPty = await lacksNodePty()

const quiet = Effect.provide(Logger.minimumLogLevel(LogLevel.None))

describe("examples", () => {
  it.live("the seed scenario: three instances, /add to each, each response read, health", () =>
    Effect.gen(function*() {
      const { health, responses } = yield* seed
      expect(responses).toEqual([
        "Added core/state.py to the chat.",
        "Added error/engine.py to the chat.",
        "Added aim/process_pool.py to the chat."
      ])
      expect(health.alive).toBe(3)
      expect(health.total).toBe(3)
    }).pipe(Effect.provide(NodeContext.layer), quiet))

  it.live.skipIf(noPty || lacks("perl"))(
    "pty and a streamed turn: output parts, then Done with the framed answer",
    () =>
      Effect.gen(function*() {
        const parts = yield* ptyStream
        expect(parts.some((part) => part._tag === "Output")).toBe(true)
        expect(parts.at(-1)).toEqual({ _tag: "Done", instance: 0, output: "42" })
      }).pipe(Effect.provide(NodeContext.layer), Effect.provide(Logger.remove(Logger.defaultLogger)))
  )

  it.each(["seed.ts", "pty-stream.ts"])("the README shows the program of examples/%s as it is there", (file) => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8")
    const body = example.slice(example.indexOf("export const program"), example.indexOf("}).pipe(Effect.scoped)"))
    expect(body.length).toBeGreaterThan(200)
    expect(readme).toContain(body)
  })

  it.live("the demo answers every prompt, reports the crash typed, and restarts the crashed instance", () =>
    Effect.gen(function*() {
      const { health, results } = yield* demo
      expect(results).toHaveLength(8)
      expect(results.filter((line) => line.includes(" ok "))).toHaveLength(7)
      expect(results.find((line) => line.includes("/crash"))).toContain("InstanceExited")
      expect(health.alive).toBe(4)
    }).pipe(Effect.provide(NodeContext.layer), quiet))
})
