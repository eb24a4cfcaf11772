import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { Transport } from "../../../src/index.js"
import { mockToolPath } from "../../utils/mockTool.js"
import { lacksNodePty } from "../../utils/nodePty.js"
import { spec, watch, within } from "../../utils/watchedProcess.js"
import { conformance } from "./conformance.js"

const node = process.execPath
const line = "/bytes " + "a".repeat(100 * 1024) + "\n"

describe.skipIf(await lacksNodePty())("pty (skipped when node-pty is not installed)", () => {
  conformance("pty", { transport: Effect.sync(() => Transport.pty()), terminal: true })
  terminalBehaviour()
})

function terminalBehaviour() {
  describe("pty transport as a terminal", () => {
    it.scopedLive("a 100 KiB line reaches a tool reading the terminal whole", () =>
      Effect.gen(function*() {
        const tool = yield* watch(Transport.pty(), spec(node, [mockToolPath, "--lines"]))
        tool.process.stdin.write(line)
        yield* tool.until("the count", (text) => /bytes \d+/.test(text))
        expect(/bytes (\d+)/.exec(tool.text())?.[1]).toBe(String(100 * 1024))
      }))

    it.scopedLive.skipIf(process.platform !== "linux")(
      "why: on a canonical terminal Linux keeps 4095 bytes of that line and drops the rest",
      () =>
        Effect.gen(function*() {
          const tool = yield* watch(
            Transport.pty(),
            spec("sh", ["-c", "stty icanon && echo ready && exec \"$0\" \"$@\"", node, mockToolPath, "--lines"])
          )
          yield* tool.until("ready", (text) => text.includes("ready"))
          tool.process.stdin.write(line)
          yield* tool.until("the count", (text) => /bytes \d+/.test(text))
          expect(/bytes (\d+)/.exec(tool.text())?.[1]).toBe(String(4095 - "/bytes ".length))
        })
    )

    it.scopedLive("TERM is dumb and the terminal 200 by 50 unless told otherwise", () =>
      Effect.gen(function*() {
        const report = spec("sh", ["-c", "echo \"[$TERM $(stty size)]\""])
        const byDefault = yield* watch(Transport.pty(), report)
        yield* within("exit", byDefault.exit)
        expect(byDefault.text()).toContain("[dumb 50 200]")
        const told = yield* watch(Transport.pty({ cols: 120, rows: 30 }), { ...report, env: { TERM: "xterm" } })
        yield* within("exit", told.exit)
        expect(told.text()).toContain("[xterm 30 120]")
      }))

    it.scopedLive("the output is one stream: what the tool writes to stderr arrives on stdout", () =>
      Effect.gen(function*() {
        const tool = yield* watch(Transport.pty(), spec(node, [mockToolPath, "--lines"]))
        expect(tool.process.terminal).toBe(true)
        tool.process.stdin.write("/stderr to the terminal\n")
        yield* tool.until("the stderr line and the answer", (text) => /to the terminal\r\n(.|\r\n)*ok\r\n/.test(text))
        expect(tool.text()).toMatch(/^\/stderr to the terminal\r\nto the terminal\r\nok\r\n$/)
        expect(tool.stderr()).toBe("")
      }))

    it.scopedLive("interrupt is ^C: the tool gets SIGINT", () =>
      Effect.gen(function*() {
        const tool = yield* watch(Transport.pty(), spec(node, [mockToolPath, "--lines"]))
        // Up and answering, so its SIGINT handler is in place (a ^C before that ends it).
        tool.process.stdin.write("/pid\n")
        yield* tool.until("the pid", (text) => /^\/pid\r\n\d+\r\n$/.test(text))
        // A terminal's ^C also discards the input the tool has not read yet, so a ^C that comes
        // before the tool has read "/sleep" drops the line (and one before the sleep begins is
        // ignored): ask again until a sleep is cut short.
        yield* Effect.sync(() => tool.process.stdin.write("/sleep 600000\n")).pipe(
          Effect.zipRight(Effect.sleep("100 millis")),
          Effect.zipRight(Effect.sync(() => tool.process.interrupt())),
          Effect.zipRight(tool.until("the interrupted answer", (text) => text.includes("KeyboardInterrupt"))),
          Effect.timeout("500 millis"),
          Effect.retry({ times: 40 })
        )
        expect(tool.text()).toMatch(/\/sleep 600000\r\n(.|\r\n)*\x03KeyboardInterrupt\r\n/)
      }))

    it.scopedLive("end is ^D: a tool reading through a line editor (node's REPL) sees the end of its input", () =>
      Effect.gen(function*() {
        const tool = yield* watch(Transport.pty(), spec(node, []))
        yield* tool.until("the prompt", (text) => text.endsWith("> "))
        tool.process.stdin.end()
        expect(yield* within("exit", tool.exit)).toEqual({ code: 0, signal: null })
      }))
  })
}
