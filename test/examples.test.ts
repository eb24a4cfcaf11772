import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { readFileSync } from "node:fs"
import { program as demo } from "../examples/demo.js"
import { program as seed } from "../examples/seed.js"

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

  it("the README shows the seed scenario as it is in examples/seed.ts", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("../examples/seed.ts", import.meta.url), "utf8")
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
