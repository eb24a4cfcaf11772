import { NodeContext } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Chunk, Clock, Context, Duration, Effect, Exit, Fiber, Metric, Schedule, Stream, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { PoolEvent } from "../src/index.js"
import { Framing, RestartPolicy, ToolPool, ToolPoolError, ToolPoolMetrics, ToolPoolTest } from "../src/index.js"

// --- docs/testing.md quotes this block: keep them in step (a test below checks) ---
// The code under test: it needs a ToolPool, and knows nothing of processes.
const review = (files: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.ToolPool
    return yield* Effect.forEach(
      files,
      (file) =>
        pool.submit(`/review ${file}`, { timeout: "10 seconds" }).pipe(
          Effect.map(({ output }) => `${file}: ${output}`),
          Effect.catchTags({
            TurnTimeout: () => Effect.succeed(`${file}: no answer in time`),
            InstanceExited: (error) => Effect.succeed(`${file}: the tool crashed (code ${error.exitCode})`)
          })
        ),
      { concurrency: "unbounded" }
    )
  })

// Its test: a test layer answers instead of real tools.
const FakeReviewers = ToolPoolTest.layer({
  instances: 2,
  respond: (input, instance, turn) => {
    if (input === "/review slow.py") return Effect.never // times out
    if (input === "/review crash.py") {
      return Effect.fail(
        new ToolPoolError.InstanceExited({ instance, pid: turn.pid, exitCode: 3, signal: null, stderrTail: "" })
      )
    }
    return "looks good"
  }
})

describe("review", () => {
  it.effect("reports answers, timeouts and crashes per file", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(review(["a.py", "slow.py", "crash.py"]))
      yield* TestClock.adjust("10 seconds") // the test clock: no real waiting
      expect(yield* Fiber.join(fiber)).toEqual([
        "a.py: looks good",
        "slow.py: no answer in time",
        "crash.py: the tool crashed (code 3)"
      ])
    }).pipe(Effect.provide(FakeReviewers)))
})
// --- end of the block quoted in docs/testing.md ---

// --- docs/testing.md quotes this block too ---
const mockTool = fileURLToPath(new URL("../fixtures/mock-tool.mjs", import.meta.url))

describe("against the mock tool", () => {
  it.scopedLive("a crash is an InstanceExited with the exit code and the stderr tail", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make({
        command: process.execPath,
        args: [mockTool],
        framing: Framing.prompt(/> $/)
      })
      expect(yield* pool.request(0, "/echo hi")).toBe("hi")
      const error = yield* Effect.flip(pool.request(0, "/crash 3"))
      expect(error).toMatchObject({ _tag: "InstanceExited", exitCode: 3, stderrTail: "crashing\n" })
    }).pipe(Effect.provide(NodeContext.layer)))
})
// --- end of the block quoted in docs/testing.md ---

/** A scripted tool that echoes its input, and exits with `exitCode` on "crash". */
const echoOrCrash = (exitCode: number) => (input: string, instance: number, turn: { readonly pid: number | null }) =>
  input === "crash"
    ? Effect.fail(new ToolPoolError.InstanceExited({ instance, pid: turn.pid, exitCode, signal: null, stderrTail: "" }))
    : Effect.succeed(input)

/** Collects the pool's events from now on, until `done` says enough. */
const collectEvents = (
  pool: ToolPool.ToolPool,
  done: (events: ReadonlyArray<PoolEvent.PoolEvent>) => boolean
) =>
  pool.events.pipe(
    Stream.scan([] as Array<PoolEvent.PoolEvent>, (all, event) => [...all, event]),
    Stream.takeUntil(done),
    Stream.runLast,
    Effect.map((last) => last._tag === "Some" ? last.value : []),
    Effect.fork,
    // let the collector subscribe before anything happens (the stream takes a few steps to)
    Effect.zipLeft(Effect.repeatN(Effect.yieldNow(), 4))
  )

describe("ToolPoolTest", () => {
  it.scoped("answers with respond, per instance, and counts requests", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 3, respond: (input, instance) => `${instance}:${input}` })
      expect(yield* pool.request(0, "a")).toBe("0:a")
      expect(yield* pool.request(2, "b")).toBe("2:b")
      expect(yield* pool.request(2, "c")).toBe("2:c")
      const status = yield* pool.status
      expect(status.map((s) => s.requests)).toEqual([1, 0, 2])
      expect(status.map((s) => s.state)).toEqual(["ready", "ready", "ready"])
      expect(pool.options.instances).toBe(3)
    }))

  it.scoped("without respond or script, every input is answered with itself", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make()
      expect(yield* pool.request(0, "hello")).toBe("hello")
      expect(pool.options.command).toBe("toolpool-test")
    }))

  it.scoped("a script answers an input's replies in order, then repeats the last", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        script: [["x = 1", ""], ["x", "1"], ["x = 2", ""], ["x", "2"]]
      })
      const replies = yield* Effect.forEach(["x = 1", "x", "x = 2", "x", "x"], (input) => pool.request(0, input))
      expect(replies).toEqual(["", "1", "", "2", "2"])
    }))

  it.scoped("a script may be a Map or a record, with errors as replies", () =>
    Effect.gen(function*() {
      const tooLarge = new ToolPoolError.ResponseTooLarge({ instance: 0, pid: null, limit: 10 })
      // the tool writes more than the pool takes: the pool's own limit fails the turn
      const fromMap = yield* ToolPoolTest.make({
        maxResponseBytes: 10,
        script: new Map<string, ToolPoolTest.Reply>([["big", tooLarge], ["small", "ok"]])
      })
      expect(yield* fromMap.request(0, "small")).toBe("ok")
      expect(yield* Effect.flip(fromMap.request(0, "big"))).toMatchObject({ _tag: "ResponseTooLarge", limit: 10 })
      const fromRecord = yield* ToolPoolTest.make({ script: { ping: "pong" } })
      expect(yield* fromRecord.request(0, "ping")).toBe("pong")
    }))

  it.scoped("an input the script lacks goes to respond, or crashes the tool with a stderr tail naming it", () =>
    Effect.gen(function*() {
      const withFallback = yield* ToolPoolTest.make({ script: { a: "A" }, respond: () => "fallback" })
      expect(yield* withFallback.request(0, "b")).toBe("fallback")
      const strict = yield* ToolPoolTest.make({ script: { a: "A" } })
      const error = yield* Effect.flip(strict.request(0, "b"))
      expect(error).toMatchObject({ _tag: "InstanceExited", exitCode: 70 })
      expect(error._tag === "InstanceExited" && error.stderrTail).toContain(`no reply to "b"`)
    }))

  it.scoped("reports synthetic pids, busy during a turn, and health", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2, latency: "1 second" })
      const before = yield* pool.status
      expect(before.every((s) => s.pid !== null && s.pid >= 10_000_000)).toBe(true)
      expect(new Set(before.map((s) => s.pid)).size).toBe(2)
      const turn = yield* Effect.fork(pool.request(1, "slow"))
      yield* TestClock.adjust("500 millis")
      expect((yield* pool.status).map((s) => s.state)).toEqual(["ready", "busy"])
      expect(yield* pool.health).toMatchObject({ total: 2, alive: 2, ready: 1, busy: 1 })
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.join(turn)).toBe("slow")
      const after = yield* pool.status
      expect(after[1]).toMatchObject({ state: "ready", requests: 1, uptimeMillis: 1000 })
    }))

  it.scoped("send queues, read answers in order, and a read timeout loses nothing", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ respond: (input) => Effect.as(Effect.sleep("2 seconds"), input) })
      yield* pool.send(0, "one")
      yield* pool.send(0, "two")
      const early = yield* Effect.fork(pool.read(0, { timeout: "1 second" }))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(early))
      expect(error).toMatchObject({ _tag: "TurnTimeout", instance: 0, kind: "deadline" })
      const reads = yield* Effect.fork(Effect.all([pool.read(0), pool.read(0)]))
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(reads)).toEqual(["one", "two"])
    }))

  it.scoped("a turn past its deadline fails with TurnTimeout", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ turnTimeout: "5 seconds", respond: () => Effect.never })
      const turn = yield* Effect.fork(Effect.flip(pool.request(0, "hang")))
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(turn)
      expect(error).toBeInstanceOf(ToolPoolError.TurnTimeout)
      expect(error.message).toMatch(/gave no response within 5s/)
    }))

  it.scoped("submit spreads over idle instances and keeps a key on its instance", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 3, latency: "1 second" })
      const spread = yield* Effect.fork(Effect.forEach([1, 2, 3], (n) => pool.submit(`job ${n}`), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("1 second")
      const replies = yield* Fiber.join(spread)
      expect(new Set(replies.map((r) => r.instance))).toEqual(new Set([0, 1, 2]))
      expect(replies.map((r) => r.output)).toEqual(["job 1", "job 2", "job 3"])
      const keyed = yield* Effect.fork(
        Effect.forEach([1, 2, 3], (n) => pool.submit(`turn ${n}`, { key: "session" }))
      )
      yield* TestClock.adjust("3 seconds")
      expect(new Set((yield* Fiber.join(keyed)).map((r) => r.instance)).size).toBe(1)
    }))

  it.scoped("a full wait queue or the acquire timeout fails with PoolBusy", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ maxQueue: 1, acquireTimeout: "2 seconds", latency: "10 seconds" })
      yield* Effect.fork(pool.submit("running"))
      yield* Effect.yieldNow()
      const waiting = yield* Effect.fork(pool.submit("waiting"))
      yield* Effect.yieldNow()
      const full = yield* Effect.flip(pool.submit("one too many"))
      expect(full).toMatchObject({ _tag: "PoolBusy", queued: 1, reason: "the wait queue is full" })
      yield* TestClock.adjust("2 seconds")
      expect(yield* Effect.flip(Fiber.join(waiting))).toMatchObject({
        _tag: "PoolBusy",
        reason: "no instance became free in time"
      })
      yield* TestClock.adjust("8 seconds") // the running turn ends: nothing left to drain
    }))

  it.scoped("an InstanceExited answer crashes the instance; the restart policy brings it back", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ respond: echoOrCrash(3) })
      const [first] = yield* pool.status
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Ready"))
      const error = yield* Effect.flip(pool.request(0, "crash"))
      expect(error._tag).toBe("InstanceExited")
      const [waiting] = yield* pool.status
      expect(waiting).toMatchObject({ state: "backing-off", pid: null, lastExit: { code: 3 } })
      // when the attempt is due: the default schedule's first delay from now, on the test clock
      const now = yield* Clock.currentTimeMillis
      expect(waiting?.nextAttemptAt?.getTime()).toBeGreaterThan(now)
      expect(waiting?.nextAttemptAt?.getTime()).toBeLessThanOrEqual(now + 10_000)
      yield* TestClock.adjust("10 seconds") // past the default policy's first delay
      const seen = yield* Fiber.join(events)
      expect(seen.map((e) => e._tag)).toEqual(["Exited", "Restarting", "Spawned", "Ready"])
      expect(seen[0]).toMatchObject({ instance: 0, pid: first?.pid, code: 3, expected: false })
      const [after] = yield* pool.status
      expect(after).toMatchObject({ state: "ready", restarts: 1, lastError: "exited with code 3" })
      expect(after?.pid).not.toBe(first?.pid)
      expect(yield* pool.request(0, "back")).toBe("back")
    }))

  it.scoped("the breaker under the TestClock: past the intensity it cools down; an end on trial trips it again at once", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ respond: echoOrCrash(1) })
      // the default policy: 5 restarts within a minute, each after a delay of at most 10 s
      for (let i = 0; i < 6; i++) {
        expect((yield* Effect.flip(pool.request(0, "crash")))._tag).toBe("InstanceExited")
        if (i < 5) {
          yield* TestClock.adjust("10 seconds")
          expect((yield* pool.status)[0]?.state).toBe("ready")
        }
      }
      const [cooling] = yield* pool.status
      expect(cooling).toMatchObject({ state: "cooling-down", pid: null, restarts: 5 })
      const now = yield* Clock.currentTimeMillis
      const due = cooling?.nextAttemptAt?.getTime() ?? 0
      // the default first cool-down: 10 s, jittered
      expect(due - now).toBeGreaterThanOrEqual(8_000)
      expect(due - now).toBeLessThanOrEqual(12_000)
      // nothing serves before then: a submit that cannot wait that long fails at once
      expect(yield* Effect.flip(pool.submit("x", { acquireTimeout: "1 second" }))).toMatchObject({
        _tag: "PoolUnavailable",
        nextAttemptAt: new Date(due)
      })
      yield* TestClock.adjust("13 seconds") // the cool-down, then the first delay of a fresh schedule
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 6 })
      // on trial: it answered nothing since the cool-down, and ends again: the breaker opens at once
      expect((yield* Effect.flip(pool.request(0, "crash")))._tag).toBe("InstanceExited")
      const [again] = yield* pool.status
      expect(again).toMatchObject({ state: "cooling-down", restarts: 6 })
      const second = (again?.nextAttemptAt?.getTime() ?? 0) - (yield* Clock.currentTimeMillis)
      expect(second).toBeGreaterThanOrEqual(16_000) // the second cool-down: 20 s, jittered
      expect(second).toBeLessThanOrEqual(24_000)
      yield* TestClock.adjust("25 seconds")
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 7 })
      // an answer ends the trial: the next crash is an ordinary one, restarted after a delay
      expect(yield* pool.request(0, "back")).toBe("back")
      expect((yield* Effect.flip(pool.request(0, "crash")))._tag).toBe("InstanceExited")
      expect((yield* pool.status)[0]?.state).toBe("backing-off")
      yield* TestClock.adjust("1 second")
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 8 })
    }))

  it.scoped("under RestartPolicy.never a crashed instance stays exited until restart(id)", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        restart: RestartPolicy.never,
        script: {
          crash: new ToolPoolError.InstanceExited({
            instance: 0,
            pid: null,
            exitCode: null,
            signal: "SIGKILL",
            stderrTail: ""
          })
        }
      })
      yield* Effect.flip(pool.request(0, "crash"))
      expect(yield* Effect.flip(pool.request(0, "crash"))).toMatchObject({
        _tag: "InstanceNotRunning",
        state: "exited"
      })
      expect((yield* pool.status)[0]).toMatchObject({ lastError: "killed by SIGKILL", lastExit: { signal: "SIGKILL" } })
      expect(yield* pool.health).toMatchObject({ exited: 1, alive: 0 })
      // nothing will serve (exited, under a policy that does not restart it): at once, and why
      expect(yield* Effect.flip(pool.submit("x"))).toMatchObject({ _tag: "PoolUnavailable", nextAttemptAt: null })
      yield* pool.restart(0)
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 1 })
    }))

  it.scoped("restarting an instance whose process had ended: Stopped, Spawned, Ready, as the real pool", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        restart: RestartPolicy.never,
        script: {
          crash: new ToolPoolError.InstanceExited({ instance: 0, pid: null, exitCode: 3, signal: null, stderrTail: "" })
        }
      })
      yield* Effect.flip(pool.request(0, "crash"))
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Ready"))
      yield* pool.restart(0)
      expect((yield* Fiber.join(events)).map((e) => e._tag)).toEqual(["Stopped", "Spawned", "Ready"])
    }))

  it.scoped("an answer too large still counts as a request answered, as in the real pool", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        script: { big: new ToolPoolError.ResponseTooLarge({ instance: 0, pid: null, limit: 16 }) }
      })
      expect((yield* Effect.flip(pool.request(0, "big")))._tag).toBe("ResponseTooLarge")
      expect((yield* pool.status)[0]?.requests).toBe(1)
    }))

  it.scoped("withInstance waits at most acquireTimeout, and its wait can be interrupted", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ acquireTimeout: "2 seconds" })
      const holder = yield* Effect.fork(pool.withInstance(() => Effect.never))
      yield* Effect.yieldNow()
      const waiting = yield* Effect.fork(pool.withInstance(() => Effect.void))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("2 seconds")
      expect(yield* Effect.flip(Fiber.join(waiting))).toMatchObject({
        _tag: "PoolBusy",
        reason: "no instance became free in time"
      })
      const another = yield* Effect.fork(pool.withInstance(() => Effect.void))
      yield* Effect.yieldNow()
      // the holder never lets go: only an interruptible wait lets this return
      expect(Exit.isInterrupted(yield* Fiber.interrupt(another))).toBe(true)
      yield* Fiber.interrupt(holder)
      expect(yield* pool.withInstance((lease) => lease.request("free"))).toBe("free")
    }))

  it.scoped("the restart schedule runs out: the instance is failed, with a GaveUp event", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        restart: RestartPolicy.always({ schedule: Schedule.recurs(1) }),
        respond: (_input, instance, turn) =>
          Effect.fail(
            new ToolPoolError.InstanceExited({ instance, pid: turn.pid, exitCode: 1, signal: null, stderrTail: "" })
          )
      })
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "GaveUp"))
      yield* Effect.flip(pool.request(0, "crash"))
      yield* Effect.yieldNow()
      yield* Effect.flip(pool.request(0, "crash again"))
      const seen = yield* Fiber.join(events)
      expect(seen.map((e) => e._tag)).toEqual(["Exited", "Restarting", "Spawned", "Ready", "Exited", "GaveUp"])
      expect((yield* pool.status)[0]).toMatchObject({ state: "failed", restarts: 1 })
      expect(yield* pool.health).toMatchObject({ failed: 1 })
    }))

  it.scoped("submit with retry goes to another instance when its instance died", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        instances: 2,
        restart: RestartPolicy.never,
        respond: (_input, instance, turn) =>
          instance === 0
            ? Effect.fail(
              new ToolPoolError.InstanceExited({ instance, pid: turn.pid, exitCode: 1, signal: null, stderrTail: "" })
            )
            : `done by ${instance}`
      })
      const reply = yield* pool.submit("work", { retry: Schedule.recurs(2) })
      expect(reply).toEqual({ instance: 1, output: "done by 1" })
    }))

  it.scoped("withInstance leases one instance for several turns; submit gets the others", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2 })
      const result = yield* pool.withInstance((lease) =>
        Effect.gen(function*() {
          const first = yield* lease.request("one")
          yield* lease.send("two")
          const second = yield* lease.read()
          const other = yield* pool.submit("elsewhere")
          return { instance: lease.instance, first, second, other: other.instance }
        })
      )
      expect(result).toEqual({ instance: 0, first: "one", second: "two", other: 1 })
    }))

  it.scoped("resize grows and shrinks; out of range is a ConfigError", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2 })
      yield* pool.resize(4)
      expect((yield* pool.status).map((s) => s.state)).toEqual(["ready", "ready", "ready", "ready"])
      expect(yield* pool.request(3, "new")).toBe("new")
      yield* pool.resize(1)
      expect(yield* pool.health).toMatchObject({ total: 1, ready: 1 })
      expect(yield* Effect.flip(pool.request(1, "gone"))).toMatchObject({ _tag: "UnknownInstance", instances: 1 })
      expect(yield* Effect.flip(pool.resize(0))).toMatchObject({ _tag: "ConfigError", field: "instances" })
    }))

  it.scoped("a shrinking resize whose caller gives up leaves the instances in service", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2, latency: "1 second" })
      const busy = yield* Effect.fork(pool.request(1, "x"))
      yield* Effect.yieldNow()
      const resize = yield* Effect.fork(pool.resize(1)) // waits for instance 1's turn
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(resize)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(busy)
      const both = yield* Effect.fork(Effect.all([pool.submit("a"), pool.submit("b")], { concurrency: 2 }))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      expect(new Set((yield* Fiber.join(both)).map((s) => s.instance))).toEqual(new Set([0, 1]))
    }))

  it.scoped("restart(id) gives a new pid, counts it, and streams the lifecycle", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make()
      const [before] = yield* pool.status
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Ready"))
      yield* pool.restart(0)
      expect((yield* Fiber.join(events)).map((e) => e._tag)).toEqual(["Exited", "Stopped", "Spawned", "Ready"])
      const [after] = yield* pool.status
      expect(after).toMatchObject({ restarts: 1, state: "ready", lastExit: { code: 0, signal: null } })
      expect(after?.pid).not.toBe(before?.pid)
    }))

  it.scoped("shutdown lets a turn in flight finish, stops every instance, then takes no work", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ instances: 2, latency: "1 second" })
      const turn = yield* Effect.fork(pool.request(0, "last words"))
      yield* Effect.yieldNow()
      const down = yield* Effect.fork(pool.shutdown)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(down)
      expect(yield* Fiber.join(turn)).toBe("last words")
      expect((yield* pool.status).map((s) => s.state)).toEqual(["stopped", "stopped"])
      expect(yield* Effect.flip(pool.submit("late"))).toBeInstanceOf(ToolPoolError.PoolClosed)
      yield* pool.shutdown // again: a no-op
    }))

  it.effect("closing the scope shuts the pool down", () =>
    Effect.gen(function*() {
      const pool = yield* Effect.scoped(ToolPoolTest.make())
      expect(yield* Effect.flip(pool.request(0, "x"))).toMatchObject({ _tag: "PoolClosed" })
    }))

  it.effect("options are checked as ToolPool.make checks them", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(ToolPoolTest.make({ instances: 0 })))
      expect(error).toMatchObject({ _tag: "ConfigError", field: "instances" })
    }))

  it.scoped("call answers with the call handler; answers can publish notifications", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        call: (method, params, _instance, turn) =>
          Effect.as(turn.notify("progress", { method }), { method, echoed: params })
      })
      const note = yield* pool.notifications.pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      expect(yield* pool.call(0, "tools/list", { cursor: null })).toEqual({
        method: "tools/list",
        echoed: { cursor: null }
      })
      expect(Chunk.toReadonlyArray(yield* Fiber.join(note))).toEqual([
        { instance: 0, method: "progress", params: { method: "tools/list" } }
      ])
      expect((yield* pool.status)[0]?.requests).toBe(1)
    }))
})

describe("ToolPoolTest is the real pool", () => {
  it.scoped("answers in the framing it is given: lines, ndjson", () =>
    Effect.gen(function*() {
      const lines = yield* ToolPoolTest.make({ framing: Framing.lines(), respond: (input) => `<${input}>` })
      expect(yield* lines.request(0, "a")).toBe("<a>")
      const ndjson = yield* ToolPoolTest.make({
        framing: Framing.ndjson(),
        respond: (input) => JSON.stringify({ got: JSON.parse(input) })
      })
      expect(JSON.parse(yield* ndjson.request(0, JSON.stringify({ n: 1 })))).toEqual({ got: { n: 1 } })
      const prompt = yield* Effect.flip(ToolPoolTest.make({ framing: Framing.prompt(/> $/) }))
      expect(prompt).toMatchObject({ _tag: "ConfigError", field: "framing" })
    }))

  it.scoped("a turn abandoned at its deadline is healed: the tool is interrupted, the next turn is in sync", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        respond: (input) => input === "hang" ? Effect.never : `answer to ${input}`
      })
      const [before] = yield* pool.status
      const late = yield* Effect.fork(Effect.flip(pool.request(0, "hang", { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(late)).toMatchObject({ _tag: "TurnTimeout", kind: "deadline" })
      // SIGINT cut the hung answer short; its empty answer was dropped, not handed to the next turn
      expect(yield* pool.request(0, "next")).toBe("answer to next")
      expect((yield* pool.status)[0]).toMatchObject({ restarts: 0, pid: before?.pid })
    }))

  it.scoped("a tool silent for longer than inactivityTimeout ends the turn with kind inactivity", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({ inactivityTimeout: "2 seconds", latency: "5 seconds" })
      const turn = yield* Effect.fork(Effect.flip(pool.request(0, "slow")))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(turn)).toMatchObject({ _tag: "TurnTimeout", kind: "inactivity" })
    }))

  it.scoped("maxRequests recycles an instance: a new process after the limit, no turn lost", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        maxRequests: 2,
        respond: (input, _instance, turn) => `${turn.pid}:${input}`
      })
      const replaced = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Spawned"))
      const first = yield* Effect.forEach(["a", "b"], (input) => pool.submit(input))
      // the replacement is started first, and takes over once it is ready
      yield* Fiber.join(replaced)
      const answers = [...first, ...yield* Effect.forEach(["c", "d"], (input) => pool.submit(input))]
      const pids = answers.map(({ output }) => output.split(":")[0])
      expect(answers.map(({ output }) => output.split(":")[1])).toEqual(["a", "b", "c", "d"])
      expect(pids[0]).toBe(pids[1])
      expect(pids[2]).not.toBe(pids[1])
      expect(pids[2]).toBe(pids[3])
    }))

  it.scoped("health probes on a schedule restart an instance that stops answering", () =>
    Effect.gen(function*() {
      let broken = false
      const pool = yield* ToolPoolTest.make({
        healthCheck: { input: "ping", expect: "pong", every: "10 seconds", timeout: "1 second" },
        respond: (input) => input === "ping" ? (broken ? "no" : "pong") : input
      })
      const [before] = yield* pool.status
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Ready"))
      broken = true
      yield* TestClock.adjust("10 seconds") // the probe's time: "no" is not "pong"
      broken = false
      yield* Fiber.join(events)
      const [after] = yield* pool.status
      expect(after?.pid).not.toBe(before?.pid)
      expect(yield* pool.request(0, "still here")).toBe("still here")
    }))
})

describe("ToolPoolTest metrics", () => {
  it.scoped("turns and restarts are counted in ToolPoolMetrics under the pool's name", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPoolTest.make({
        name: "metrics-test",
        script: {
          ok: "fine",
          late: new ToolPoolError.TurnTimeout({
            instance: 0,
            pid: null,
            timeout: Duration.seconds(1),
            kind: "deadline"
          })
        }
      })
      yield* pool.request(0, "ok")
      yield* pool.submit("ok")
      // a scripted TurnTimeout is a tool that never answers: the pool's deadline ends the turn
      const late = yield* Effect.fork(Effect.flip(pool.request(0, "late", { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(late)).toMatchObject({ _tag: "TurnTimeout" })
      yield* pool.restart(0)
      const count = (metric: Metric.Metric.Counter<number>) =>
        Metric.value(metric).pipe(Effect.map((state) => state.count))
      const tagged = ToolPoolMetrics.requests.pipe(Metric.tagged("pool", "metrics-test"))
      expect(yield* count(tagged.pipe(Metric.tagged("outcome", "ok")))).toBe(2)
      expect(yield* count(tagged.pipe(Metric.tagged("outcome", "TurnTimeout")))).toBe(1)
      expect(yield* count(ToolPoolMetrics.restarts.pipe(Metric.tagged("pool", "metrics-test")))).toBe(1)
    }))
})

class Reviewers extends Context.Tag("test/Reviewers")<Reviewers, ToolPool.ToolPool>() {}

layer(ToolPoolTest.layerAs(Reviewers, { script: { hello: "world" } }))("ToolPoolTest.layerAs", (it) => {
  it.effect("provides the test pool under a key of your own", () =>
    Effect.gen(function*() {
      const pool = yield* Reviewers
      expect(yield* pool.request(0, "hello")).toBe("world")
    }))
})

describe("docs/testing.md", () => {
  it("quotes the examples as they are in this file", () => {
    const doc = readFileSync(new URL("../docs/testing.md", import.meta.url), "utf8")
    const source = readFileSync(new URL("./ToolPoolTest.test.ts", import.meta.url), "utf8")
    const blocks = source.split(/^\/\/ --- docs\/testing\.md quotes.*$/m).slice(1).map((part) =>
      part.slice(0, part.indexOf("// --- end of the block")).trim()
    )
    expect(blocks).toHaveLength(2)
    for (const block of blocks) {
      expect(block.length).toBeGreaterThan(400)
      expect(doc).toContain(block)
    }
  })
})
