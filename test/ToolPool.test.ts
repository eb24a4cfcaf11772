import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Framing, RestartPolicy, ToolPool } from "../src/index.js"
import { sendBackPressures } from "./utils/backPressure.js"
import { mockLines, mockTool } from "./utils/mockTool.js"

const provide = Effect.provide(NodeContext.layer)

describe("ToolPool", () => {
  describe("talking to instances", () => {
    it.scopedLive("request answers each instance's own prompt", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 3 }))
        const answers = yield* Effect.forEach(
          [0, 1, 2],
          (id) => pool.request(id, `/add file${id}.py`),
          { concurrency: "unbounded" }
        )
        expect(answers).toEqual([
          "Added file0.py to the chat.",
          "Added file1.py to the chat.",
          "Added file2.py to the chat."
        ])
        expect(yield* pool.request(1, "/multi 3")).toBe("line 1\nline 2\nline 3")
      }).pipe(provide))

    it.scopedLive("send returns at once and read returns the response", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        yield* pool.send(0, "/sleep 100")
        const reader = yield* Effect.fork(pool.read(0))
        expect(yield* Fiber.join(reader)).toBe("slept 100")
      }).pipe(provide))

    it.scopedLive("a read that times out loses nothing: the next read gets the response", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        yield* pool.send(0, "/sleep 300")
        const early = yield* Effect.flip(pool.read(0, { timeout: "50 millis" }))
        expect(early._tag).toBe("TurnTimeout")
        expect(yield* pool.read(0, { timeout: "5 seconds" })).toBe("slept 300")
      }).pipe(provide))

    it.scopedLive("turns on one instance run one at a time, each caller gets its own answer", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const inputs = Array.from({ length: 40 }, (_, i) => `/echo turn ${i}`)
        const answers = yield* Effect.forEach(inputs, (input) => pool.request(0, input), { concurrency: "unbounded" })
        expect(answers).toEqual(inputs.map((input) => input.slice("/echo ".length)))
      }).pipe(provide))

    it.scopedLive("a late answer to a timed-out turn never reaches the next caller", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const error = yield* Effect.flip(pool.request(0, "/sleep 300", { timeout: "50 millis" }))
        expect(error._tag).toBe("TurnTimeout")
        expect(error.message).toContain("50ms")
        expect(yield* pool.request(0, "/echo next")).toBe("next")
      }).pipe(provide))

    it.scopedLive("an interrupted turn leaves the instance usable", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const turn = yield* Effect.fork(pool.request(0, "/sleep 200"))
        yield* Effect.sleep("50 millis")
        yield* Fiber.interrupt(turn)
        expect(yield* pool.request(0, "/echo after")).toBe("after")
        const [status] = yield* pool.status
        expect(status?.state).toBe("ready")
      }).pipe(provide))

    it.scopedLive("output between turns does not leak into the next response", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        // a reply nobody reads
        yield* pool.send(0, "/echo stray")
        yield* Effect.sleep("100 millis")
        expect(yield* pool.request(0, "/echo mine")).toBe("mine")
      }).pipe(provide))

    it.scopedLive("lines framing: one response per line", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockLines({ instances: 2 }))
        expect(yield* pool.request(0, "hello")).toBe("echo: hello")
        expect(yield* pool.request(1, "/add a.py")).toBe("Added a.py to the chat.")
      }).pipe(provide))
  })

  describe("bytes", () => {
    it.scopedLive("responses ended by silence are held back too once responseQueue are unread", () =>
      Effect.gen(function*() {
        // After "go", twelve bursts of output 80 ms apart: twelve responses of the quiet framing,
        // unless the pool stops reading once more than two are unread.
        const tool = join(mkdtempSync(join(tmpdir(), "toolpool-")), "bursts.mjs")
        writeFileSync(
          tool,
          `process.stdin.once("data", async () => {
            for (let i = 0; i < 12; i++) {
              process.stdout.write("burst " + i + "\\n")
              await new Promise((resolve) => setTimeout(resolve, 80))
            }
          })
          process.stdin.resume()`
        )
        const pool = yield* ToolPool.make({
          command: process.execPath,
          args: [tool],
          framing: Framing.quiet("20 millis"),
          responseQueue: 2
        })
        yield* pool.send(0, "go")
        yield* Effect.sleep("1500 millis")
        const responses: Array<string> = []
        while (true) {
          const next = yield* Effect.either(pool.read(0, { timeout: "300 millis" }))
          if (next._tag === "Left") break
          responses.push(next.right)
        }
        // Nothing lost: every burst, in order; the ones that waited in the pipe come as one.
        expect(responses.join("\n")).toBe(Array.from({ length: 12 }, (_, i) => `burst ${i}`).join("\n"))
        expect(responses.length).toBeLessThanOrEqual(4)
      }).pipe(provide))

    it.scopedLive("a 1 MiB prompt goes through without deadlock", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const payload = "é".repeat(512 * 1024) // 1 MiB of UTF-8
        expect(yield* pool.request(0, `/bytes ${payload}`)).toBe(`bytes ${1024 * 1024}`)
      }).pipe(provide))

    it.scopedLive("a 1 MiB response comes back whole", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const answer = yield* pool.request(0, `/flood ${1024 * 1024}`)
        expect(answer.length).toBe(1024 * 1024)
        expect(/^x+$/.test(answer)).toBe(true)
      }).pipe(provide))

    it.scopedLive("a 1 MiB prompt echoed back as a 1 MiB response, on several instances at once", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 3 }))
        const payload = "ab".repeat(512 * 1024)
        const answers = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, payload), {
          concurrency: "unbounded"
        })
        for (const answer of answers) expect(answer).toBe(`echo: ${payload}`)
      }).pipe(provide))

    it.scopedLive("UTF-8 split across chunks decodes right", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        expect(yield* pool.request(0, "/utf8-split")).toBe("héllo wörld 🎉 done")
      }).pipe(provide))

    it.scopedLive("invalid UTF-8 becomes replacement characters, not a crash", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        expect(yield* pool.request(0, "/invalid-utf8")).toBe("bad\uFFFD\uFFFD!")
        expect(yield* pool.request(0, "/echo fine")).toBe("fine")
      }).pipe(provide))

    it.scopedLive("a response over maxResponseBytes fails typed and the instance re-syncs", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ maxResponseBytes: 64 * 1024 }))
        const error = yield* Effect.flip(pool.request(0, `/flood ${1024 * 1024}`))
        expect(error._tag).toBe("ResponseTooLarge")
        expect(yield* pool.request(0, "/echo small")).toBe("small")
      }).pipe(provide))

    it.scopedLive("send back-pressures when the tool reads nothing, instead of buffering without bound", () =>
      sendBackPressures(undefined, 300).pipe(provide))
  })

  describe("status, health and restart", () => {
    it.scopedLive("status reports every instance", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
        yield* pool.request(0, "/stderr something odd")
        yield* pool.request(0, "/echo x")
        const [first, second] = yield* pool.status
        expect(first?.id).toBe(0)
        expect(first?.state).toBe("ready")
        expect(first?.pid).toBeGreaterThan(0)
        expect(first?.requests).toBe(2)
        expect(first?.restarts).toBe(0)
        expect(first?.startedAt).toBeInstanceOf(Date)
        expect(first?.uptimeMillis).toBeGreaterThanOrEqual(0)
        expect(first?.stderrTail).toBe("something odd\n")
        expect(first?.lastExit).toBeNull()
        expect(second?.id).toBe(1)
        expect(second?.requests).toBe(0)
        expect(second?.pid).not.toBe(first?.pid)
      }).pipe(provide))

    it.scopedLive("health counts instances by state", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 3, restart: RestartPolicy.never }))
        yield* Effect.flip(pool.request(2, "/crash 7"))
        const health = yield* pool.health
        expect(health).toMatchObject({ total: 3, alive: 2, ready: 2, exited: 1, busy: 0, failed: 0 })
      }).pipe(provide))

    it.scopedLive("a crash mid-turn fails the turn with code and stderr tail, and is seen at once", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ turnTimeout: "20 seconds", restart: RestartPolicy.never }))
        const started = Date.now()
        const error = yield* Effect.flip(pool.request(0, "/crash 5"))
        expect(Date.now() - started).toBeLessThan(5000)
        expect(error._tag).toBe("InstanceExited")
        if (error._tag !== "InstanceExited") return
        expect(error.exitCode).toBe(5)
        expect(error.signal).toBeNull()
        expect(error.stderrTail).toContain("crashing")
        const [status] = yield* pool.status
        expect(status?.state).toBe("exited")
        expect(status?.lastExit?.code).toBe(5)
        expect(status?.pid).toBeNull()
      }).pipe(provide))

    it.scopedLive("a death by signal reports the signal", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const error = yield* Effect.flip(pool.request(0, "/kill SIGKILL"))
        expect(error._tag).toBe("InstanceExited")
        if (error._tag === "InstanceExited") {
          expect(error.signal).toBe("SIGKILL")
          expect(error.exitCode).toBeNull()
        }
      }).pipe(provide))

    it.scopedLive("requests to an exited instance fail with InstanceNotRunning", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        yield* Effect.flip(pool.request(0, "/exit 0"))
        const error = yield* Effect.flip(pool.request(0, "/echo hi"))
        expect(error._tag).toBe("InstanceNotRunning")
        const sendError = yield* Effect.flip(pool.send(0, "/echo hi"))
        expect(sendError._tag).toBe("InstanceNotRunning")
      }).pipe(provide))

    it.scopedLive("restart brings an instance back under the same id and counts it", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 2, restart: RestartPolicy.never }))
        const pidBefore = (yield* pool.status)[1]?.pid
        yield* Effect.flip(pool.request(1, "/crash 1"))
        yield* pool.restart(1)
        expect(yield* pool.request(1, "/echo back")).toBe("back")
        yield* pool.restart(1) // a live instance restarts too
        const status = (yield* pool.status)[1]
        expect(status?.restarts).toBe(2)
        expect(status?.requests).toBe(1)
        expect(status?.state).toBe("ready")
        expect(status?.pid).not.toBe(pidBefore)
        expect(status?.lastExit?.code).toBe(0) // the graceful stop of the second restart: stdin closed
      }).pipe(provide))

    it.scopedLive("a turn in flight during a restart fails typed", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        const turn = yield* Effect.fork(pool.request(0, "/hang"))
        yield* Effect.sleep("100 millis")
        yield* pool.restart(0)
        const exit = yield* Fiber.await(turn)
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("InstanceExited")
        expect(yield* pool.request(0, "/echo fresh")).toBe("fresh")
      }).pipe(provide))
  })

  describe("typed errors", () => {
    it.scopedLive("unknown instance", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
        for (const id of [2, -1, 0.5]) {
          const error = yield* Effect.flip(pool.request(id, "hi"))
          expect(error._tag).toBe("UnknownInstance")
        }
        const error = yield* Effect.flip(pool.restart(9))
        expect(error._tag).toBe("UnknownInstance")
        expect(error.message).toContain("0..1")
      }).pipe(provide))

    it.scopedLive("missing executable: SpawnError NotFound, with the command", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ToolPool.make({ command: "no-such-tool-xyz", instances: 2 }))
        expect(error._tag).toBe("SpawnError")
        if (error._tag !== "SpawnError") return
        expect(error.reason).toBe("NotFound")
        expect(error.command).toBe("no-such-tool-xyz")
        expect(error.message).toContain("no-such-tool-xyz")
      }).pipe(provide))

    it.scopedLive("bad cwd: SpawnError BadCwd, with the cwd", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ToolPool.make(mockTool({ cwd: "/no/such/dir" })))
        expect(error._tag).toBe("SpawnError")
        if (error._tag !== "SpawnError") return
        expect(error.reason).toBe("BadCwd")
        expect(error.cwd).toBe("/no/such/dir")
      }).pipe(provide))

    it.scopedLive("no permission to execute: SpawnError PermissionDenied", () =>
      Effect.gen(function*() {
        // a file that exists but is not executable (not even by root)
        const path = join(mkdtempSync(join(tmpdir(), "toolpool-")), "not-executable")
        writeFileSync(path, "#!/bin/sh\necho hi\n", { mode: 0o644 })
        const error = yield* Effect.flip(ToolPool.make({ command: path }))
        expect(error._tag).toBe("SpawnError")
        if (error._tag === "SpawnError") expect(error.reason).toBe("PermissionDenied")
      }).pipe(provide))

    it.scopedLive("a tool that exits at start-up: SpawnError ExitedAtStartup with code and stderr", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ToolPool.make(mockTool({ flags: ["--exit-at-start", "2"], instances: 2 })))
        expect(error._tag).toBe("SpawnError")
        if (error._tag !== "SpawnError") return
        expect(error.reason).toBe("ExitedAtStartup")
        expect(error.exitCode).toBe(2)
        expect(error.stderrTail).toContain("fatal: cannot start")
      }).pipe(provide))

    it.scopedLive("a tool that never shows its prompt: SpawnError StartTimeout", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          ToolPool.make(mockTool({ flags: ["--start-delay", "5000"], startTimeout: "200 millis" }))
        )
        expect(error._tag).toBe("SpawnError")
        if (error._tag === "SpawnError") expect(error.reason).toBe("StartTimeout")
      }).pipe(provide))

    it.scopedLive("a tool that closes its stdin: WriteFailed, and the test process survives", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool({ turnTimeout: "5 seconds" }))
        expect(yield* pool.request(0, "/close-stdin")).toBe("closing stdin")
        yield* Effect.sleep("50 millis")
        const error = yield* Effect.flip(pool.request(0, "x".repeat(256 * 1024)))
        expect(error._tag).toBe("WriteFailed")
        // out of rotation at once: the instance no longer takes input
        const again = yield* Effect.flip(pool.send(0, "more"))
        expect(again._tag).toBe("InstanceNotRunning")
      }).pipe(provide))

    it.scopedLive("after shutdown every operation fails with PoolClosed", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(mockTool())
        yield* pool.shutdown
        expect((yield* Effect.flip(pool.request(0, "hi")))._tag).toBe("PoolClosed")
        expect((yield* Effect.flip(pool.send(0, "hi")))._tag).toBe("PoolClosed")
        expect((yield* Effect.flip(pool.restart(0)))._tag).toBe("PoolClosed")
        const [status] = yield* pool.status
        expect(status?.state).toBe("stopped")
        yield* pool.shutdown // idempotent
      }).pipe(provide))
  })

  describe("layers", () => {
    class Echoes extends Context.Tag("test/Echoes")<Echoes, ToolPool.ToolPool>() {}

    it.live("two pools of different tools under their own keys", () =>
      Effect.gen(function*() {
        const prompts = yield* ToolPool.ToolPool
        const echoes = yield* Echoes
        expect(yield* prompts.request(0, "/echo a")).toBe("a")
        expect(yield* echoes.request(0, "b")).toBe("echo: b")
        expect(prompts).not.toBe(echoes)
      }).pipe(
        Effect.provide(Layer.mergeAll(ToolPool.layer(mockTool()), ToolPool.layerAs(Echoes, mockLines()))),
        provide
      ))

    it.live("a layer with bad options fails before spawning, naming the field", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          Effect.provide(ToolPool.ToolPool, ToolPool.layer({ command: "bc", instances: 0 })).pipe(provide)
        )
        expect(error._tag).toBe("ConfigError")
        if (error._tag === "ConfigError") expect(error.field).toBe("instances")
      }))

    it.live("prompt framing accepts a string pattern too", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.ToolPool
        expect(yield* pool.request(0, "/echo s")).toBe("s")
      }).pipe(Effect.provide(ToolPool.layer(mockTool({ framing: Framing.prompt("> $") }))), provide))
  })

  it.scopedLive("turnTimeout applies when a turn gives none", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ turnTimeout: "100 millis" }))
      const error = yield* Effect.flip(pool.request(0, "/hang"))
      expect(error._tag).toBe("TurnTimeout")
      if (error._tag === "TurnTimeout") expect(Duration.toMillis(error.timeout)).toBe(100)
    }).pipe(provide))
})
