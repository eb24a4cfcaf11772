/**
 * What every transport must do, as one suite: each transport's test file runs it. Real processes
 * throughout (the bundled mock tool, `fixtures/flood.mjs`, `cat`); every test stops what it
 * started before its scope closes (`watch` SIGKILLs the group), so that no finalizer waits on a
 * tool that ignores SIGTERM (EFFECT-NOTES 1).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import type { Transport } from "../../../src/index.js"
import { mockToolPath } from "../../utils/mockTool.js"
import { processesTagged, running } from "../../utils/processes.js"
import { eventually, spec, watch, within } from "../../utils/watchedProcess.js"

const floodPath = fileURLToPath(new URL("../../../fixtures/flood.mjs", import.meta.url))
const node = process.execPath
const mockLines = (env: Record<string, string> = {}) => spec(node, [mockToolPath, "--lines"], { env })

export interface Subject {
  /** Runs the suite's effects with what the transport needs (e.g. an executor) provided. */
  readonly transport: Effect.Effect<Transport.Transport>
  /** A terminal: one output stream, echo, CR LF, and no stdin of its own to close. */
  readonly terminal: boolean
}

/** Deterministic bytes of every value, so that a lost, doubled or changed byte shows. */
const noise = (size: number): Buffer => {
  const bytes = Buffer.alloc(size)
  let state = 0x2545f491
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0
    bytes[i] = state >>> 24
  }
  return bytes
}

export const conformance = (name: string, subject: Subject): void => {
  describe(`${name} transport`, () => {
    const { terminal } = subject
    const withTransport = <A, E, R>(f: (transport: Transport.Transport) => Effect.Effect<A, E, R>) =>
      Effect.flatMap(subject.transport, f)

    it.scopedLive("a missing executable fails the spawn with NotFound", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(transport.spawn(spec("toolpool-no-such-tool-4711")))
          expect(error._tag).toBe("TransportError")
          expect(error.reason).toBe("NotFound")
        })
      ))

    it.scopedLive("a working directory that does not exist fails the spawn with BadCwd", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(transport.spawn(spec(node, ["-e", "0"], { cwd: "/toolpool/no/such/dir" })))
          expect(error.reason).toBe("BadCwd")
        })
      ))

    it.scopedLive("the exit code is seen, then the output is closed", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tool = yield* watch(
            transport,
            spec(node, ["-e", "process.stdout.write('bye\\n'); process.exitCode = 3"])
          )
          expect(yield* within("exit", tool.exit)).toEqual({ code: 3, signal: null })
          yield* within("closed", tool.closed)
          expect(tool.text()).toContain("bye")
        })
      ))

    it.scopedLive("death by a signal is seen with the signal's name", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tool = yield* watch(transport, mockLines())
          yield* Effect.sync(() => tool.process.stdin.write("/pid\n"))
          yield* tool.until("pid", (text) => /\d+\r?\n/.test(text.replace("/pid", "")))
          expect(tool.process.signal("SIGTERM", "process")).toBe(true)
          expect(yield* within("exit", tool.exit)).toEqual({ code: null, signal: "SIGTERM" })
        })
      ))

    it.scopedLive("SIGKILL to the group reaches a grandchild that ignores SIGTERM, and nothing of the group is left", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tool = yield* watch(transport, mockLines())
          tool.process.stdin.write("/spawn-child\n")
          yield* tool.until("spawned pid", (text) => /spawned \d+/.test(text))
          const grandchild = Number(/spawned (\d+)/.exec(tool.text())?.[1])
          expect(running(grandchild)).toBe(true)
          expect(tool.process.signal(0, "group")).toBe(true)
          expect(tool.process.signal("SIGKILL", "group")).toBe(true)
          expect(yield* within("exit", tool.exit)).toEqual({ code: null, signal: "SIGKILL" })
          yield* eventually("the grandchild is gone", () => !running(grandchild))
          yield* eventually("the group is gone", () => !tool.process.signal(0, "group"))
        })
      ))

    it.scopedLive.skipIf(terminal)(
      `a write after the tool closed its stdin is reported as stdinError (EPIPE)${
        terminal ? " [skipped: a terminal has no stdin to close; its writes do not fail while it is open]" : ""
      }`,
      () =>
        withTransport((transport) =>
          Effect.gen(function*() {
            const tool = yield* watch(transport, mockLines())
            tool.process.stdin.write("/close-stdin\n")
            yield* tool.until("closing stdin", (text) => text.includes("closing stdin"))
            // The tool closes fd 0 just after its answer: write until the pipe says so.
            const error = yield* Effect.sync(() => tool.process.stdin.write("more\n")).pipe(
              Effect.zipRight(Effect.sleep("20 millis")),
              Effect.zipRight(Deferred.poll(tool.stdinError)),
              Effect.flatMap(Option.match({ onNone: () => Effect.fail("not yet"), onSome: (error) => error })),
              Effect.retry({ times: 500 })
            )
            expect(error).toBeInstanceOf(Error)
            expect(`${error.message} ${String((error as { cause?: unknown }).cause)}`).toMatch(/EPIPE|broken pipe/i)
          })
        )
    )

    it.scopedLive("pause stops delivery and holds the tool back; resume delivers the rest, nothing lost", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const total = 4 * 1024 * 1024
          let paused = false
          // On a terminal the tool lingers a second before it exits: node-pty drops what is unread
          // 200 ms after the exit, and a loaded machine can take longer than that to read the tail.
          const linger = terminal ? "1000" : "0"
          const tool = yield* watch(transport, spec(node, [floodPath, String(total), linger]), {
            onStdout: (received, process) => {
              if (!paused && received >= 256 * 1024) {
                paused = true
                process.pause("stdout")
              }
            }
          })
          yield* eventually("paused", () => paused)
          const atPause = tool.stdout().length
          yield* Effect.sleep("500 millis")
          // Nothing more delivered, and the tool, blocked on its full pipe, has not finished.
          expect(tool.stdout().length).toBe(atPause)
          expect(atPause).toBeLessThan(total)
          expect(yield* Deferred.isDone(tool.exit)).toBe(false)
          tool.process.resume("stdout")
          expect(yield* within("exit", tool.exit)).toEqual({ code: 0, signal: null })
          yield* within("closed", tool.closed)
          const output = tool.text()
          expect(output.replace(/[\r\n]|done/g, "")).toBe("x".repeat(total))
          expect(output.endsWith(terminal ? "done\r\n" : "done\n")).toBe(true)
        })
      ))

    it.scopedLive("1 MiB each way arrives byte for byte", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const input = noise(1024 * 1024)
          if (!terminal) {
            const tool = yield* watch(transport, spec("cat"))
            for (let at = 0; at < input.length; at += 64 * 1024) {
              tool.process.stdin.write(input.subarray(at, at + 64 * 1024))
            }
            tool.process.stdin.end()
            expect(yield* within("exit", tool.exit)).toEqual({ code: 0, signal: null })
            yield* within("closed", tool.closed)
            expect(tool.stdout().equals(input)).toBe(true)
            return
          }
          // A terminal turns LF into CR LF, echoes, and acts on ^C, ^S, ^Q...: the tool asks for
          // a raw terminal first, as a binary-safe tool would.
          const tool = yield* watch(transport, spec("sh", ["-c", "stty raw -echo && echo ready && exec cat"]))
          yield* tool.until("ready", (text) => text.includes("ready\n"))
          const start = tool.stdout().indexOf("ready\n") + "ready\n".length
          for (let at = 0; at < input.length; at += 64 * 1024) {
            tool.process.stdin.write(input.subarray(at, at + 64 * 1024))
          }
          yield* tool.until("1 MiB back", (_, bytes) => bytes.length - start >= input.length)
          expect(tool.stdout().subarray(start).equals(input)).toBe(true)
        })
      ))

    it.scopedLive("UTF-8 split across chunks is delivered byte for byte", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tool = yield* watch(transport, mockLines())
          tool.process.stdin.write("/utf8-split\n")
          const expected = Buffer.from("héllo wörld 🎉 done", "utf8")
          yield* tool.until("the split text", (_, bytes) => bytes.includes(expected))
          expect(tool.text()).toContain("héllo wörld 🎉 done")
        })
      ))

    it.scopedLive("multi-byte characters written one byte at a time arrive whole", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tool = yield* watch(transport, mockLines())
          for (const byte of Buffer.from("héllo 🎉\n", "utf8")) tool.process.stdin.write(Uint8Array.of(byte))
          yield* tool.until("the answer", (text) => text.includes("echo: héllo 🎉"))
        })
      ))

    it.scopedLive("no leftovers: once stopped, no process of the group is alive", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tag = randomUUID()
          const tool = yield* watch(transport, mockLines({ TOOLPOOL_TEST_CASE: tag }))
          tool.process.stdin.write("/spawn-child\n")
          yield* tool.until("spawned pid", (text) => /spawned \d+/.test(text))
          expect(processesTagged(tag).filter(running).length).toBe(2)
          yield* tool.stop
          yield* eventually("no process of the tool's left", () => processesTagged(tag).filter(running).length === 0)
        })
      ))

    it.live("no leftovers: closing the scope ends a tool that stops on SIGTERM", () =>
      withTransport((transport) =>
        Effect.gen(function*() {
          const tag = randomUUID()
          yield* Effect.scoped(
            Effect.gen(function*() {
              const tool = yield* watch(transport, mockLines({ TOOLPOOL_TEST_CASE: tag }), { stopOnClose: false })
              tool.process.stdin.write("/pid\n")
              yield* tool.until("pid", (text) => /\d+\r?\n/.test(text.replace("/pid", "")))
              expect(processesTagged(tag).filter(running).length).toBe(1)
            })
          )
          yield* eventually("no process of the tool's left", () => processesTagged(tag).filter(running).length === 0)
        }).pipe(Effect.scoped)
      ))
  })
}
