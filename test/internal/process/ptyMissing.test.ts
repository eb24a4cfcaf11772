import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { vi } from "vitest"
import { Transport } from "../../../src/index.js"
import { spec } from "../../utils/watchedProcess.js"

// As if the optional dependency were not installed.
vi.mock("node-pty", () => {
  throw new Error("Cannot find package 'node-pty'")
})

it.scopedLive("without node-pty, spawning fails with Unsupported, saying how to install it", () =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(Transport.pty().spawn(spec("cat")))
    expect(error.reason).toBe("Unsupported")
    expect(error.detail).toContain("npm install node-pty")
    expect(error.detail).toContain("npm install-scripts approve node-pty")
  }))
