import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit } from "effect"
import { Framing, PoolOptions } from "../src/index.js"

const rejects = (input: unknown) => Effect.flip(PoolOptions.decode(input as PoolOptions.Input))

describe("PoolOptions", () => {
  it.effect("fills in defaults for everything but the command", () =>
    Effect.gen(function*() {
      const options = yield* PoolOptions.decode({ command: "bc" })
      expect(options.instances).toBe(1)
      expect(options.args).toEqual([])
      expect(options.framing._tag).toBe("Lines")
      expect(Duration.toMillis(options.turnTimeout)).toBe(30_000)
      expect(Duration.toMillis(options.grace)).toBe(1000)
    }))

  it.effect("takes durations as strings, milliseconds or Durations", () =>
    Effect.gen(function*() {
      const options = yield* PoolOptions.decode({
        command: "bc",
        turnTimeout: "2 seconds",
        grace: 250,
        killAfter: Duration.millis(750)
      })
      expect(Duration.toMillis(options.turnTimeout)).toBe(2000)
      expect(Duration.toMillis(options.grace)).toBe(250)
      expect(Duration.toMillis(options.killAfter)).toBe(750)
    }))

  const cases: ReadonlyArray<[string, unknown, string]> = [
    ["zero instances", { command: "bc", instances: 0 }, "instances"],
    ["negative instances", { command: "bc", instances: -1 }, "instances"],
    ["a billion instances", { command: "bc", instances: 1e9 }, "instances"],
    ["NaN instances", { command: "bc", instances: Number.NaN }, "instances"],
    ["fractional instances", { command: "bc", instances: 1.5 }, "instances"],
    ["an empty command", { command: "  " }, "command"],
    ["a missing command", {}, "command"],
    ["a bad prompt regex", { command: "bc", framing: Framing.prompt("(unclosed") }, "framing.pattern"],
    ["an empty prompt regex", { command: "bc", framing: Framing.prompt("") }, "framing.pattern"],
    ["a negative duration", { command: "bc", grace: -5 }, "grace"],
    ["a nonsense duration", { command: "bc", turnTimeout: "soon" }, "turnTimeout"],
    ["an infinite duration", { command: "bc", killAfter: Number.POSITIVE_INFINITY }, "killAfter"],
    ["an unknown key", { command: "bc", instance: 3 }, "instance"],
    ["a non-string argument", { command: "bc", args: ["-q", 1] }, "args.1"]
  ]

  for (const [name, input, field] of cases) {
    it.effect(`rejects ${name}, naming the field`, () =>
      Effect.gen(function*() {
        const error = yield* rejects(input)
        expect(error._tag).toBe("ConfigError")
        expect(error.field).toBe(field)
        expect(error.reason.length).toBeGreaterThan(0)
        expect(error.message).toContain(field)
      }))
  }

  it.effect("the negative duration error says why", () =>
    Effect.gen(function*() {
      const error = yield* rejects({ command: "bc", grace: -5 })
      expect(error.reason).toMatch(/zero or more/)
    }))

  it.effect("accepts a valid prompt framing", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(PoolOptions.decode({ command: "python3", framing: Framing.prompt(/>>> $/) }))
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})
