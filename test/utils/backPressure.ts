/**
 * The check that `send` back-pressures: a pool of one `sleep 30` (a tool that never reads its
 * input) over the given transport, sent 64 KiB inputs for a while. Once the tool's input (pipe or
 * terminal) and the pool's `stdinQueue` of 4 are full, `send` must wait: only a few of the 200
 * inputs get through, instead of all of them piling up in memory.
 */
import { expect } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { Transport } from "../../src/index.js"
import { ToolPool } from "../../src/index.js"

export const sendBackPressures = (transport: Transport.Transport | undefined, waitMillis: number) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.make({
      command: "sleep",
      args: ["30"],
      ...(transport === undefined ? {} : { transport }),
      stdinQueue: 4,
      grace: 0,
      killAfter: "1 second"
    })
    const chunk = "y".repeat(64 * 1024)
    let sent = 0
    const sender = yield* Effect.fork(
      Effect.forEach(
        Array.from({ length: 200 }),
        () =>
          pool.send(0, chunk).pipe(Effect.tap(() =>
            Effect.sync(() => {
              sent++
            })
          )),
        { discard: true }
      )
    )
    yield* Effect.sleep(waitMillis)
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThan(20)
    yield* Fiber.interrupt(sender)
  })
