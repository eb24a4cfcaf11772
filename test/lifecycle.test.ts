/**
 * Lifecycle work cut short: a caller who gives up, or a pool that closes, while a process is
 * being started, replaced or healed. Each case leaves every instance usable and no process
 * behind, and a shutdown stays within its bound.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Scheduler, Scope, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Framing, RestartPolicy, ToolPool } from "../src/index.js"
import { mockTool, mockToolPath } from "./utils/mockTool.js"
import { processesTagged, running } from "./utils/processes.js"

const provide = Effect.provide(NodeContext.layer)

/** Options whose processes carry a tag of their own, to find them (and any child) afterwards. */
const tagged = (options: Parameters<typeof mockTool>[0] = {}) => {
  const tag = randomUUID()
  return { tag, options: mockTool({ ...options, env: { TOOLPOOL_TEST_CASE: tag } }) }
}

/** The status once every instance is ready (polled), or as it is after 10 seconds. */
const untilReady = (pool: ToolPool.ToolPool) =>
  pool.status.pipe(
    Effect.repeat({
      schedule: Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds")),
      until: (status) => status.every((s) => s.state === "ready")
    }),
    Effect.zipRight(pool.status)
  )

/** Waits for the pool's next event of this kind. */
const nextEvent = (pool: ToolPool.ToolPool, tag: string) =>
  pool.events.pipe(Stream.filter((event) => event._tag === tag), Stream.take(1), Stream.runDrain)

describe("lifecycle work cut short", () => {
  it.live("a replacement still starting when the pool closes is stopped with the rest", () =>
    Effect.gen(function*() {
      // maxRequests 1: after one turn the instance is recycled; a new process takes 1.5 s to start
      const { options, tag } = tagged({ maxRequests: 1, flags: ["--start-delay", "1500"] })
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(options).pipe(Scope.extend(scope))
      expect(yield* pool.request(0, "/echo hi")).toBe("hi")
      yield* Effect.sleep("300 millis")
      expect(processesTagged(tag).filter(running)).toHaveLength(2) // the old one and its replacement
      yield* Scope.close(scope, Exit.void)
      expect(processesTagged(tag).filter(running)).toEqual([])
    }).pipe(provide))

  it.live("a restart whose caller gives up during the spawn leaves the new process serving", () =>
    Effect.gen(function*() {
      const { options, tag } = tagged()
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(options).pipe(Scope.extend(scope))
      const stopped = yield* Effect.fork(nextEvent(pool, "Stopped"))
      yield* Effect.sleep("20 millis")
      const restart = yield* Effect.fork(pool.restart(0))
      yield* Fiber.join(stopped)
      // the old process is gone and the new one is being spawned: the caller gives up now
      yield* Fiber.interrupt(restart)
      expect(yield* pool.request(0, "/echo again", { timeout: "5 seconds" })).toBe("again")
      const [status] = yield* pool.status
      expect(status?.state).toBe("ready")
      expect(processesTagged(tag).filter(running)).toEqual([status?.pid])
      yield* Scope.close(scope, Exit.void)
      expect(processesTagged(tag).filter(running)).toEqual([])
    }).pipe(provide))

  it.live("healing that restarts a tool slow to start does not hold up the shutdown", () =>
    Effect.gen(function*() {
      // The first process starts at once; once the flag file exists, a new one takes a minute.
      const flag = join(mkdtempSync(join(tmpdir(), "toolpool-")), "slow")
      const script = `if [ -e ${flag} ]; then exec "$0" "$1" --start-delay 60000; else exec "$0" "$1"; fi`
      const tag = randomUUID()
      const pool = yield* ToolPool.make({
        command: "sh",
        args: ["-c", script, process.execPath, mockToolPath],
        env: { TOOLPOOL_TEST_CASE: tag },
        framing: Framing.prompt(/> $/),
        interrupt: "none",
        healGrace: "100 millis",
        startTimeout: "30 seconds",
        drain: "200 millis",
        grace: "300 millis",
        killAfter: "300 millis"
      })
      writeFileSync(flag, "")
      const spawned = yield* Effect.fork(nextEvent(pool, "Spawned"))
      yield* Effect.sleep("10 millis")
      // The turn times out; the tool is still busy with it; healing restarts the instance.
      const turn = yield* Effect.flip(pool.request(0, "/hang", { timeout: "300 millis" }))
      expect(turn._tag).toBe("TurnTimeout")
      yield* Fiber.join(spawned)
      const start = Date.now()
      yield* pool.shutdown
      // drain 200 + grace 300 + killAfter 300 ms, and a margin for a busy machine
      expect(Date.now() - start).toBeLessThan(2000)
      expect(processesTagged(tag).filter(running)).toEqual([])
    }).pipe(Effect.scoped, provide))

  it.live("withInstance: acquireTimeout bounds the wait for an instance, and the wait can be interrupted", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool())
      const holder = yield* Effect.fork(pool.withInstance(() => Effect.sleep("3 seconds")))
      yield* Effect.sleep("100 millis")
      const start = Date.now()
      const busy = yield* Effect.flip(pool.withInstance(() => Effect.void, { acquireTimeout: "200 millis" }))
      expect(busy._tag).toBe("PoolBusy")
      expect(Date.now() - start).toBeLessThan(1500) // not when the holder lets go (3 s)
      const waiter = yield* Effect.fork(pool.withInstance(() => Effect.void))
      yield* Effect.sleep("50 millis")
      const interrupting = Date.now()
      yield* Fiber.interrupt(waiter)
      expect(Date.now() - interrupting).toBeLessThan(1000)
      yield* Fiber.interrupt(holder)
      // the instance is free again for whoever asks
      expect(yield* pool.withInstance((lease) => lease.request("/echo free"), { acquireTimeout: "2 seconds" }))
        .toBe("free")
    }).pipe(Effect.scoped, provide))

  it.live("a shrinking resize whose caller gives up leaves every instance in service", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      const busy = yield* Effect.fork(pool.request(1, "/sleep 1000"))
      yield* Effect.sleep("50 millis")
      // instance 1 would go once its turn ends; the caller gives up first
      const gaveUp = yield* Effect.either(Effect.timeout(pool.resize(1), "100 millis"))
      expect(gaveUp._tag).toBe("Left")
      yield* Fiber.join(busy)
      expect((yield* pool.status).map((s) => s.state)).toEqual(["ready", "ready"])
      const served = yield* Effect.forEach(Array.from({ length: 4 }), () => pool.submit("/sleep 200"), {
        concurrency: 4
      })
      expect(new Set(served.map((s) => s.instance))).toEqual(new Set([0, 1]))
    }).pipe(Effect.scoped, provide))

  it.live("a turn interrupted just after its queued input went out is healed, not answered to the next caller", () =>
    Effect.gen(function*() {
      // A lines tool that answers in order; "pause N" makes it read nothing for N ms, "#..." has
      // no answer, "slow X" is answered after 300 ms.
      const tool = join(mkdtempSync(join(tmpdir(), "toolpool-")), "slowreader.mjs")
      writeFileSync(
        tool,
        `import { createInterface } from "node:readline"
        const lines = createInterface({ input: process.stdin })
        const queue = []
        let busy = false
        const next = () => {
          if (busy || queue.length === 0) return
          const line = queue.shift()
          if (line.startsWith("#")) return next()
          busy = true
          const done = (text) => { process.stdout.write(text + "\\n"); busy = false; next() }
          if (line.startsWith("pause ")) {
            lines.pause(); process.stdin.pause()
            setTimeout(() => { lines.resume(); process.stdin.resume() }, Number(line.slice(6)))
            return done("paused")
          }
          if (line.startsWith("slow ")) return setTimeout(() => done("echo: " + line), 300)
          done("echo: " + line)
        }
        lines.on("line", (line) => { queue.push(line); next() })`
      )
      const pool = yield* ToolPool.make({
        command: process.execPath,
        args: [tool],
        framing: Framing.lines(),
        stdinQueue: 1,
        turnTimeout: "5 seconds"
      })
      expect(yield* pool.request(0, "pause 400")).toBe("paused")
      yield* pool.send(0, "#" + "y".repeat(300_000)) // fills the pipe
      yield* pool.send(0, "#z") // and one more write in flight: stdin is full
      // This turn's input waits for room; it goes out at about 400 ms. Its fiber runs on a
      // scheduler that resumes fibers 100 ms late, which holds open the moment between the
      // input going out and the caller running on.
      const first = yield* Effect.fork(pool.request(0, "slow first").pipe(Effect.withScheduler(Scheduler.timer(100))))
      yield* Effect.sleep("450 millis")
      yield* Fiber.interrupt(first)
      const next = yield* Effect.either(pool.request(0, "second", { timeout: "2 seconds" }))
      // healed (here by a restart: SIGINT ends this tool) or answered in turn: never the other answer
      if (next._tag === "Right") expect(next.right).toBe("echo: second")
      else expect(next.left._tag).not.toBe("TurnTimeout")
    }).pipe(Effect.scoped, provide))

  it.live("healing and recycling at once do not lock each other out", () =>
    Effect.gen(function*() {
      // maxRequests 1: the first turn starts a recycling (the new process is ready after 300 ms);
      // the second times out, and healing (no interrupt, 1 s grace) then restarts the instance.
      const pool = yield* ToolPool.make(
        mockTool({ maxRequests: 1, interrupt: "none", healGrace: "1 second", flags: ["--start-delay", "300"] })
      )
      expect(yield* pool.request(0, "/echo hi")).toBe("hi")
      expect((yield* Effect.flip(pool.request(0, "/hang", { timeout: "100 millis" })))._tag).toBe("TurnTimeout")
      yield* Effect.sleep("2 seconds")
      expect(yield* pool.request(0, "/echo again", { timeout: "5 seconds" })).toBe("again")
    }).pipe(Effect.scoped, provide))

  it.live("a replacement does not take over an instance that crashed while it started", () =>
    Effect.gen(function*() {
      const { options, tag } = tagged({
        maxRequests: 1,
        flags: ["--start-delay", "500"],
        restart: RestartPolicy.onFailure({ schedule: Schedule.spaced("1 second") })
      })
      const pool = yield* ToolPool.make(options)
      expect(yield* pool.request(0, "/echo hi")).toBe("hi") // the replacement starts now
      yield* pool.send(0, "/crash") // and the process it was to replace ends
      yield* Effect.sleep("1 second")
      // restarted by the policy after its 1 s backoff (a start takes 500 ms and more when busy);
      // the replacement went instead of idling beside it
      const [status] = yield* untilReady(pool)
      expect(status?.state).toBe("ready")
      expect(status?.restarts).toBe(1)
      expect(processesTagged(tag).filter(running)).toEqual([status?.pid])
    }).pipe(Effect.scoped, provide))

  it.live("a restart whose caller gives up during the stop still brings the instance back", () =>
    Effect.gen(function*() {
      // a tool that ignores SIGTERM and the end of its input: its stop takes grace + killAfter
      const pool = yield* ToolPool.make(mockTool({ instances: 2, flags: ["--ignore-sigterm"], grace: "300 millis" }))
      yield* pool.send(0, "/hang")
      const restart = yield* Effect.fork(pool.restart(0))
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(restart)
      expect(yield* pool.request(0, "/echo back", { timeout: "5 seconds" })).toBe("back")
    }).pipe(Effect.scoped, provide))

  it.live("a restart under way when the pool shuts down starts nothing, and the shutdown keeps its bound", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({ flags: ["--ignore-sigterm"], drain: "200 millis", grace: "300 millis", killAfter: "500 millis" })
      )
      yield* pool.send(0, "/hang")
      const restart = yield* Effect.fork(Effect.either(pool.restart(0)))
      yield* Effect.sleep("50 millis")
      const start = Date.now()
      yield* pool.shutdown
      // drain 200 + grace 300 + killAfter 500 ms, and a margin for a busy machine
      expect(Date.now() - start).toBeLessThan(2500)
      const outcome = yield* Fiber.join(restart)
      expect(outcome._tag === "Left" ? outcome.left._tag : "restarted").toBe("PoolClosed")
    }).pipe(Effect.scoped, provide))

  it.live("what a crashed tool left running ends when it is restarted, not at shutdown", () =>
    Effect.gen(function*() {
      const { options, tag } = tagged({ restart: RestartPolicy.always({ schedule: Schedule.spaced("10 millis") }) })
      const pool = yield* ToolPool.make(options)
      const spawned = yield* pool.request(0, "/spawn-child")
      const child = Number(/spawned (\d+)/.exec(spawned)?.[1])
      expect(running(child)).toBe(true)
      const ready = yield* Effect.fork(nextEvent(pool, "Ready"))
      yield* Effect.sleep("20 millis")
      yield* pool.send(0, "/crash")
      yield* Fiber.join(ready)
      // ended while the pool is open: SIGTERM to the group at the exit, SIGKILL after killAfter
      // (1 s) if the child ignores it (this one does once it is up)
      yield* Effect.sync(() => running(child)).pipe(
        Effect.repeat({
          schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo("3 seconds")),
          while: (alive) => alive
        })
      )
      expect(running(child)).toBe(false)
      const [status] = yield* pool.status
      expect(processesTagged(tag).filter(running)).toEqual([status?.pid])
    }).pipe(Effect.scoped, provide))

  it.live("a shutdown while a recycling is stopping the process it replaced keeps its bound", () =>
    Effect.gen(function*() {
      // tools that ignore the end of their input and SIGTERM: each stop takes grace + killAfter
      const script = `trap "" TERM; "$0" "$1"; exec sleep 1000`
      const pool = yield* ToolPool.make({
        command: "sh",
        args: ["-c", script, process.execPath, mockToolPath],
        framing: Framing.prompt(/> $/),
        instances: 2,
        maxRequests: 1,
        drain: "200 millis",
        grace: "1 second",
        killAfter: "1 second"
      })
      const tookOver = yield* Effect.fork(nextEvent(pool, "Spawned"))
      yield* Effect.sleep("20 millis")
      expect(yield* pool.request(0, "/echo hi")).toBe("hi")
      yield* Fiber.join(tookOver) // the replacement serves; the old process is being stopped
      yield* Effect.sleep("100 millis")
      const start = Date.now()
      yield* pool.shutdown
      // drain 200 ms + grace 1 s + killAfter 1 s, and a margin for a busy machine
      expect(Date.now() - start).toBeLessThan(3500)
    }).pipe(Effect.scoped, provide))

  it.live("a process that exits as it becomes ready is restarted all the same", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make({
        command: "sh",
        args: ["-c", "printf '> '; exit 3"],
        framing: Framing.prompt(/> $/),
        instances: 2,
        restart: RestartPolicy.always({ schedule: Schedule.spaced("20 millis"), maxRestarts: 100_000 })
      }).pipe(Effect.orDie)
      yield* Effect.sleep("1 second")
      const before = (yield* pool.status).map((s) => s.restarts)
      yield* Effect.sleep("1500 millis")
      const after = yield* pool.status
      // none is left exited with nobody to restart it: every one goes on being restarted
      after.forEach((status, i) => expect(status.restarts).toBeGreaterThan(before[i] ?? 0))
    }).pipe(Effect.scoped, provide))

  it.live("an instance that crashed while a shrinking resize that would remove it was cancelled comes back", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 3, grace: "200 millis", killAfter: "500 millis" }))
      const long = yield* Effect.fork(pool.request(1, "/sleep 1500"))
      yield* Effect.sleep("50 millis")
      const resize = yield* Effect.fork(pool.resize(1)) // waits for instance 1's turn
      yield* Effect.sleep("50 millis")
      const spawned = yield* pool.request(2, "/spawn-child")
      const child = Number(/spawned (\d+)/.exec(spawned)?.[1])
      expect((yield* Effect.flip(pool.request(2, "/crash 3")))._tag).toBe("InstanceExited")
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(resize)
      yield* Fiber.join(long)
      expect(yield* pool.request(2, "/echo back", { timeout: "5 seconds" })).toBe("back")
      expect((yield* pool.status).map((s) => s.state)).toEqual(["ready", "ready", "ready"])
      expect(running(child)).toBe(false) // what the crashed tool left was ended
    }).pipe(Effect.scoped, provide))

  it.live("a restart does not wait for what the ended process left behind to be ended", () =>
    Effect.gen(function*() {
      // the tool's child is in its group; killAfter is long
      const pool = yield* ToolPool.make(mockTool({ grace: "200 millis", killAfter: "3 seconds" }))
      yield* pool.request(0, "/spawn-child")
      const exited = yield* Effect.fork(nextEvent(pool, "Exited"))
      const spawned = yield* Effect.fork(nextEvent(pool, "Spawned"))
      yield* Effect.sleep("20 millis")
      yield* Effect.flip(pool.request(0, "/crash 3"))
      yield* Fiber.join(exited)
      const start = Date.now()
      yield* Fiber.join(spawned)
      // the default backoff (100 ms, jittered), not killAfter
      expect(Date.now() - start).toBeLessThan(2000)
    }).pipe(Effect.scoped, provide))

  it.live("a crash that a health probe sees is restarted once, by the restart policy", () =>
    Effect.gen(function*() {
      const { options, tag } = tagged({ healthCheck: { input: "/crash 3", every: "20 seconds" } })
      const pool = yield* ToolPool.make(options) // the first probe runs at once, and crashes the tool
      yield* Effect.sleep("1 second") // the crash, the policy's backoff (100 ms), a start ...
      const [status] = yield* untilReady(pool) // ... which takes longer on a busy machine
      expect(status?.state).toBe("ready")
      expect(status?.restarts).toBe(1)
      expect(processesTagged(tag).filter(running)).toEqual([status?.pid])
    }).pipe(Effect.scoped, provide))
})
