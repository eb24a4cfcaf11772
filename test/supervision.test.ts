import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Schedule, Stream } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Framing, RestartPolicy, ToolPool } from "../src/index.js"
import type { PoolEvent, PoolOptions } from "../src/index.js"
import type { TurnOptions } from "../src/ToolPool.js"
import { mockTool, mockToolPath } from "./utils/mockTool.js"
import { readlineEcho } from "./utils/readlineEcho.js"

const provide = Effect.provide(NodeContext.layer)

const untilState = (pool: ToolPool.ToolPool, id: number, state: string) =>
  pool.status.pipe(
    Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (all) => all[id]?.state === state }),
    Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`instance ${id} never became ${state}`) })
  )

/** Collects the pool's events from now on, until `take` of them have come. */
const collectEvents = (pool: ToolPool.ToolPool, take: (events: ReadonlyArray<PoolEvent.PoolEvent>) => boolean) =>
  pool.events.pipe(
    Stream.scan([] as Array<PoolEvent.PoolEvent>, (all, event) => [...all, event]),
    Stream.takeUntil(take),
    Stream.runLast,
    Effect.map((last) => last._tag === "Some" ? last.value : []),
    Effect.fork
  )

/**
 * A tool that starts once and then exits at every later start: `sh` runs the mock tool the
 * first time and creates a marker file; later starts find the marker and exit with code 3.
 */
const startsOnce = (): PoolOptions.Input => {
  const marker = join(mkdtempSync(join(tmpdir(), "toolpool-")), "started")
  return {
    command: "sh",
    args: [
      "-c",
      `if [ -e "${marker}" ]; then echo "no more" >&2; exit 3; fi; touch "${marker}"; exec "${process.execPath}" "${mockToolPath}"`
    ],
    framing: Framing.prompt(/> $/),
    grace: "300 millis",
    killAfter: "500 millis"
  }
}

describe("supervision", () => {
  it.scopedLive("a crashed instance comes back under the same id, by the default policy", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      const pid = (yield* pool.status)[1]?.pid
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Ready"))
      yield* Effect.sleep("20 millis")
      const error = yield* Effect.flip(pool.request(1, "/crash 4"))
      expect(error._tag).toBe("InstanceExited")
      yield* untilState(pool, 1, "ready")
      expect(yield* pool.request(1, "/echo back")).toBe("back")
      const status = (yield* pool.status)[1]
      expect(status?.restarts).toBe(1)
      expect(status?.pid).not.toBe(pid)
      expect(status?.lastExit?.code).toBe(4)
      const seen = yield* Fiber.join(events)
      expect(seen.map((e) => e._tag)).toEqual(["Exited", "Restarting", "Spawned", "Ready"])
      expect(seen.every((e) => e.instance === 1)).toBe(true)
    }).pipe(provide))

  it.scopedLive("the backoff delay of the schedule is waited before the restart", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({ restart: RestartPolicy.always({ schedule: Schedule.spaced("400 millis") }) })
      )
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "Spawned"))
      yield* Effect.sleep("20 millis")
      yield* Effect.flip(pool.request(0, "/crash 1"))
      const seen = yield* Fiber.join(events)
      const exited = seen.find((e) => e._tag === "Exited")
      const spawned = seen.find((e) => e._tag === "Spawned")
      const restarting = seen.find((e) => e._tag === "Restarting")
      expect(restarting?._tag === "Restarting" && restarting.delayMillis).toBe(400)
      expect((spawned?.at.getTime() ?? 0) - (exited?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(390)
    }).pipe(provide))

  it.scopedLive("a tool that keeps failing at start-up does not spin: the schedule holds, then the pool gives up", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make({
        ...startsOnce(),
        restart: RestartPolicy.onFailure({
          schedule: Schedule.spaced("150 millis").pipe(Schedule.intersect(Schedule.recurs(3))),
          maxRestarts: 100
        })
      })
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "GaveUp"))
      yield* Effect.sleep("20 millis")
      const started = Date.now()
      yield* Effect.flip(pool.request(0, "/crash 2"))
      const seen = yield* Fiber.join(events)
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150 - 20)
      expect(seen.filter((e) => e._tag === "Restarting")).toHaveLength(3)
      expect(seen.filter((e) => e._tag === "Spawned")).toHaveLength(3)
      const status = (yield* pool.status)[0]
      expect(status?.state).toBe("failed")
      expect(status?.restarts).toBe(3)
      expect(status?.lastError).toContain("gave up")
      expect((yield* pool.health).failed).toBe(1)
      const error = yield* Effect.flip(pool.request(0, "/echo hi"))
      expect(error._tag).toBe("InstanceNotRunning")
      const unavailable = yield* Effect.flip(pool.submit("/echo hi"))
      expect(unavailable._tag).toBe("PoolUnavailable")
    }).pipe(provide))

  it.scopedLive("the intensity limit trips the breaker: the instance cools down, then comes back", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({
          restart: RestartPolicy.always({
            schedule: Schedule.spaced("10 millis"),
            maxRestarts: 2,
            window: "1 minute",
            coolDown: Schedule.spaced("1500 millis")
          })
        })
      )
      const events = yield* collectEvents(pool, (all) => all.some((e) => e._tag === "CoolingDown"))
      for (let i = 0; i < 2; i++) {
        yield* Effect.flip(pool.request(0, "/crash 1"))
        yield* untilState(pool, 0, "ready")
      }
      yield* Effect.flip(pool.request(0, "/crash 1"))
      yield* untilState(pool, 0, "cooling-down")
      const cooling = (yield* pool.status)[0]
      expect(cooling?.restarts).toBe(2)
      expect(cooling?.lastError).toContain("2 restarts within")
      const due = cooling?.nextAttemptAt?.getTime() ?? 0
      expect(due).toBeGreaterThan(Date.now())
      const tripped = (yield* Fiber.join(events)).find((e) => e._tag === "CoolingDown")
      expect(tripped).toMatchObject({ instance: 0, trip: 1, delayMillis: 1500 })
      expect((yield* pool.health).coolingDown).toBe(1)
      // nothing can serve before it is due: submit says so at once, instead of waiting
      const unavailable = yield* Effect.flip(pool.submit("/echo hi", { acquireTimeout: "200 millis" }))
      expect(unavailable).toMatchObject({ _tag: "PoolUnavailable", nextAttemptAt: new Date(due) })
      expect(unavailable.message).toContain("cooling-down")
      // a caller who would wait past the due time waits, and is served
      expect((yield* pool.submit("/echo waited", { acquireTimeout: "10 seconds" })).output).toBe("waited")
      expect(Date.now()).toBeGreaterThanOrEqual(due)
      // re-armed: a fresh intensity window
      yield* Effect.flip(pool.request(0, "/crash 1"))
      yield* untilState(pool, 0, "ready")
      expect((yield* pool.status)[0]?.restarts).toBe(4)
    }).pipe(provide))

  it.scopedLive("under coolDown: \"never\" the first trip of the intensity limit is the end: failed", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({
          restart: RestartPolicy.always({ schedule: Schedule.spaced("10 millis"), maxRestarts: 1, coolDown: "never" })
        })
      )
      yield* Effect.flip(pool.request(0, "/crash 1"))
      yield* untilState(pool, 0, "ready")
      yield* Effect.flip(pool.request(0, "/crash 1"))
      yield* untilState(pool, 0, "failed")
      const status = (yield* pool.status)[0]
      expect(status?.lastError).toContain("gave up restarting: 1 restarts within")
      expect(status?.nextAttemptAt).toBeUndefined()
      expect(yield* Effect.flip(pool.submit("/echo hi"))).toMatchObject({
        _tag: "PoolUnavailable",
        nextAttemptAt: null
      })
    }).pipe(provide))

  it.scopedLive("never leaves an instance exited; on-failure restarts only after a failure; always after any exit", () =>
    Effect.gen(function*() {
      const never = yield* ToolPool.make(mockTool({ restart: RestartPolicy.never }))
      yield* Effect.flip(never.request(0, "/crash 1"))
      yield* Effect.sleep("300 millis")
      expect((yield* never.status)[0]?.state).toBe("exited")

      const onFailure = yield* ToolPool.make(mockTool({ restart: RestartPolicy.onFailure() }))
      yield* Effect.flip(onFailure.request(0, "/exit 0"))
      yield* Effect.sleep("300 millis")
      expect((yield* onFailure.status)[0]?.state).toBe("exited")

      const always = yield* ToolPool.make(mockTool({ restart: RestartPolicy.always() }))
      yield* Effect.flip(always.request(0, "/exit 0"))
      yield* untilState(always, 0, "ready")
      expect((yield* always.status)[0]?.restarts).toBe(1)
    }).pipe(provide))

  it.scopedLive("a hung turn is interrupted and re-synced; the next turn on that instance gets a clean answer", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool())
      const pid = (yield* pool.status)[0]?.pid
      const error = yield* Effect.flip(pool.request(0, "/hang", { timeout: "200 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      expect(yield* pool.request(0, "/echo clean")).toBe("clean")
      const status = (yield* pool.status)[0]
      expect(status?.pid).toBe(pid) // healed by the interrupt, not restarted
      expect(status?.restarts).toBe(0)
    }).pipe(provide))

  it.scopedLive("an instance that does not recover within healGrace is restarted", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ interrupt: "none", healGrace: "300 millis" }))
      const pid = (yield* pool.status)[0]?.pid
      const error = yield* Effect.flip(pool.request(0, "/hang", { timeout: "100 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      // the next turn waits for the heal, then runs on the fresh process
      expect(yield* pool.request(0, "/echo fresh")).toBe("fresh")
      const status = (yield* pool.status)[0]
      expect(status?.pid).not.toBe(pid)
      expect(status?.restarts).toBe(1)
    }).pipe(provide))

  it.scopedLive("what the interrupt input itself makes the tool print never reaches the next turn", () =>
    Effect.gen(function*() {
      // An abort command with an answer of its own, right after the abandoned one; a turn waits
      // behind the one that times out, on both kinds of turn (the second forces the general path).
      const pool = yield* ToolPool.make(mockTool({ interrupt: { input: "/echo aborted" } }))
      const turns: ReadonlyArray<TurnOptions> = [{}, { inactivityTimeout: "10 seconds" }]
      for (const turn of turns) {
        const slow = yield* Effect.fork(Effect.flip(pool.request(0, "/sleep 300", { timeout: "100 millis", ...turn })))
        yield* Effect.sleep("20 millis")
        const queued = yield* Effect.fork(pool.request(0, "/echo next", turn))
        expect((yield* Fiber.join(slow))._tag).toBe("TurnTimeout")
        expect(yield* Fiber.join(queued)).toBe("next")
        expect(yield* pool.request(0, "/echo third", turn)).toBe("third")
      }
    }).pipe(provide))

  it.scopedLive("the late answer of an abandoned turn never reaches a submit caller", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1 }))
      const error = yield* Effect.flip(pool.submit("/sleep 400", { timeout: "100 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      const replies = yield* Effect.forEach([1, 2, 3], (n) => pool.submit(`/echo ${n}`))
      expect(replies.map((r) => r.output)).toEqual(["1", "2", "3"])
    }).pipe(provide))

  it.scopedLive("events are a stream of lifecycle changes", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ restart: RestartPolicy.never }))
      const events = yield* pool.events.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* Effect.sleep("20 millis")
      yield* pool.restart(0)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(events))
      expect(seen.map((e) => e._tag)).toEqual(["Exited", "Stopped"])
    }).pipe(provide))
})

describe("inactivity", () => {
  it.scopedLive("a turn fails when the tool goes silent, even though its deadline is far", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ turnTimeout: "30 seconds" }))
      const error = yield* Effect.flip(pool.request(0, "/hang", { inactivityTimeout: "200 millis" }))
      expect(error._tag).toBe("TurnTimeout")
      if (error._tag === "TurnTimeout") expect(error.kind).toBe("inactivity")
      // a tool that keeps writing is not silent: a 1 MiB flood passes a short inactivity limit
      const flood = yield* pool.request(0, `/flood ${1024 * 1024}`, { inactivityTimeout: "2 seconds" })
      expect(flood.length).toBe(1024 * 1024)
    }).pipe(provide))
})

describe("continuation prompts", () => {
  it.scopedLive("IncompleteInput heals with the configured interrupt input, not a signal", () =>
    Effect.gen(function*() {
      // SIGINT would kill this tool (--lines has no prompt; use a prompt tool that dies on SIGINT):
      // the mock tool in prompt mode with "/prompt ... " as a continuation marker is enough
      const pool = yield* ToolPool.make(
        mockTool({
          framing: Framing.prompt(/> $/, { continuation: /\.\.\. $/ }),
          interrupt: { input: "/prompt > " },
          restart: RestartPolicy.never
        })
      )
      const pid = (yield* pool.status)[0]?.pid
      // switch the tool to a continuation-looking prompt: the turn ends at "... "
      const error = yield* Effect.flip(pool.request(0, "/prompt ... "))
      expect(error._tag).toBe("IncompleteInput")
      // healed by the interrupt input (which restores "> "), same process
      expect(yield* pool.request(0, "/echo next")).toBe("next")
      expect((yield* pool.status)[0]?.pid).toBe(pid)
    }).pipe(provide))
})

describe("out of rotation, breaker, self-restarts", () => {
  it.scopedLive("a tool that closed its stdin leaves the rotation at once, is ended and comes back", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2, killAfter: "300 millis" }))
      const pid = (yield* pool.status)[0]?.pid
      expect(yield* pool.request(0, "/close-stdin")).toBe("closing stdin")
      yield* Effect.sleep("50 millis")
      expect((yield* Effect.flip(pool.request(0, "x".repeat(256 * 1024))))._tag).toBe("WriteFailed")
      // not ready, not counted as up, and no submit goes to it while it is replaced
      const [broken] = yield* pool.status
      expect(broken?.state).not.toBe("ready")
      expect((yield* pool.health).alive).toBe(1)
      for (let i = 0; i < 20; i++) expect((yield* pool.submit(`/echo s${i}`)).instance).toBe(1)
      // the tool lived on without its stdin: it is ended, and the restart path brings a new one
      yield* untilState(pool, 0, "ready")
      const [back] = yield* pool.status
      expect(back?.pid).not.toBe(pid)
      expect(yield* pool.request(0, "/echo again")).toBe("again")
    }).pipe(provide))

  it.scopedLive("the pool's own stops are not crashes: a tool that exits on the heal's SIGINT is not a crash, and is not interrupted again", () =>
    Effect.gen(function*() {
      // default policy: more than 5 crash restarts a minute would trip the breaker
      const pool = yield* ToolPool.make(readlineEcho(20, { instances: 1 }))
      const first = (yield* pool.status)[0]?.pid
      // a turn abandoned by its caller (the tool answers after up to 20 ms: a deadline of 0 ms
      // almost always passes first): the heal's SIGINT ends the tool, restarted at once
      const abandon = (input: string) =>
        Effect.either(pool.request(0, input, { timeout: "0 millis" })).pipe(
          Effect.map((outcome) => {
            if (outcome._tag === "Right") expect(outcome.right).toBe(input)
            else expect(outcome.left._tag).toBe("TurnTimeout")
            return outcome._tag === "Left"
          })
        )
      yield* abandon("abandoned").pipe(Effect.repeat({ until: (timedOut) => timedOut, times: 20 }))
      yield* pool.status.pipe(
        Effect.repeat({
          schedule: Schedule.spaced("20 millis"),
          until: (all) => all[0]?.state === "ready" && all[0].pid !== first
        }),
        Effect.timeout("10 seconds")
      )
      const second = (yield* pool.status)[0]?.pid
      // learnt: later heals wait for the abandoned answer instead, and the tool lives on
      let abandoned = 0
      for (let i = 0; i < 8; i++) {
        if (yield* abandon(`abandoned ${i}`)) abandoned++
        // the next turn waits for the heal, and gets its own answer, not the abandoned one
        expect(yield* pool.request(0, `answered ${i}`)).toBe(`answered ${i}`)
      }
      expect(abandoned).toBeGreaterThan(0)
      const status = (yield* pool.status)[0]
      expect(status).toMatchObject({ state: "ready", pid: second, selfRestarts: 1, restarts: 1 })
    }).pipe(provide))

  it.scopedLive("recycling by maxRequests counts as the pool's own", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ maxRequests: 2 }))
      for (let i = 0; i < 2; i++) yield* pool.request(0, `/echo ${i}`)
      yield* pool.status.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (all) => all[0]?.selfRestarts === 1 }),
        Effect.timeout("10 seconds")
      )
      expect((yield* pool.status)[0]).toMatchObject({ state: "ready", restarts: 0, selfRestarts: 1 })
    }).pipe(provide))

  it.scopedLive("maxMemory replaces a tool that grew past it, the replacement ready first, no turn lost", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ maxMemory: 200 * 1024 * 1024 }))
      const pid = (yield* pool.status)[0]?.pid
      expect(yield* pool.request(0, "/alloc 250")).toBe("holding 250 MiB")
      // turns go on while it is replaced, and every one is answered
      let turns = 0
      const started = Date.now()
      while ((yield* pool.status)[0]?.pid === pid && Date.now() - started < 15_000) {
        expect((yield* pool.submit(`/echo m${turns}`)).output).toBe(`m${turns}`)
        turns++
        yield* Effect.sleep("20 millis")
      }
      const status = (yield* pool.status)[0]
      expect(status?.pid).not.toBe(pid)
      expect(status).toMatchObject({ state: "ready", restarts: 0, selfRestarts: 1 })
      expect(turns).toBeGreaterThan(0)
      expect(yield* pool.request(0, "/echo fresh")).toBe("fresh")
    }).pipe(provide))
})
