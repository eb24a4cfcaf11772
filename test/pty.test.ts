/**
 * The pool over a pseudo-terminal (`Transport.pty()`), on real tools that need one or behave
 * differently with one. The transport itself is in test/internal/process/pty.test.ts.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { Framing, ToolPool, Transport } from "../src/index.js"
import { sendBackPressures } from "./utils/backPressure.js"
import { lacks } from "./utils/installed.js"
import { lacksNodePty } from "./utils/nodePty.js"

const noPty = await lacksNodePty()
const needsTty = fileURLToPath(new URL("../fixtures/needs-tty.mjs", import.meta.url))
const ANSI = /\x1b\[/

describe.skipIf(noPty)("pool over a pty", () => {
  it.scopedLive.skipIf(lacks("perl"))(
    "perl -de0: the debugger answers, keeps state, and no ANSI reaches the answer",
    () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make({
          command: "perl",
          args: ["-de0"],
          framing: Framing.prompt(/ *DB<\d+> $/),
          transport: Transport.pty()
        })
        expect(yield* pool.request(0, "p 6*7")).toBe("42")
        expect(yield* pool.request(0, "$x = 5")).toBe("")
        const answer = yield* pool.request(0, "p $x * 2")
        expect(answer).toBe("10")
        expect(answer).not.toMatch(ANSI)
      }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive.skipIf(lacks("python3"))(
    "python3 -i with its own >>> and ... prompts, and a 20 KiB input line",
    () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make({
          command: "python3",
          args: ["-i", "-q"],
          framing: Framing.prompt(/>>> $/, { continuation: /\.\.\. $/ }),
          transport: Transport.pty({ cols: 120, rows: 40 })
        })
        expect(yield* pool.request(0, "x = 21")).toBe("")
        expect(yield* pool.request(0, "x * 2")).toBe("42")
        expect(yield* pool.request(0, "print('a\\nb')")).toBe("a\nb")
        // past the terminal's 4095-byte canonical line limit
        expect(yield* pool.request(0, `len('${"y".repeat(20_480)}')`)).toBe("20480")
        // an unfinished statement stops at the continuation prompt: a typed error, then ^C heals
        const stuck = yield* Effect.flip(pool.request(0, "def f():"))
        expect(stuck._tag).toBe("IncompleteInput")
      }).pipe(Effect.provide(NodeContext.layer))
  )

  it.scopedLive("a tool that refuses to run without a terminal runs under the pty, not over pipes", () =>
    Effect.gen(function*() {
      const options = { command: process.execPath, args: [needsTty], framing: Framing.prompt(/tty> $/) }
      const pool = yield* ToolPool.make({ ...options, transport: Transport.pty({ cols: 90 }) })
      expect(yield* pool.request(0, "hello")).toBe("5 chars, columns 90")
      const refused = yield* Effect.flip(Effect.scoped(ToolPool.make({ ...options, transport: Transport.pipes() })))
      expect(refused).toMatchObject({ _tag: "SpawnError", reason: "ExitedAtStartup", exitCode: 2 })
      expect(refused._tag === "SpawnError" && refused.stderrTail).toContain("not a terminal")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("send back-pressures when the tool reads nothing from its terminal, as over pipes", () =>
    sendBackPressures(Transport.pty(), 500).pipe(Effect.provide(NodeContext.layer)))
})
