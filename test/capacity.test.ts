import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { RestartPolicy, ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"
import { alive as running } from "./utils/processes.js"

const provide = Effect.provide(NodeContext.layer)

describe("capacity", () => {
  it.scopedLive("withInstance leases one instance for a multi-turn conversation", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      const [instance, pids] = yield* pool.withInstance((lease) =>
        Effect.gen(function*() {
          const first = yield* lease.request("/pid")
          // while leased, submit goes elsewhere
          const other = yield* pool.submit("/echo other")
          expect(other.instance).not.toBe(lease.instance)
          const second = yield* lease.request("/pid")
          return [lease.instance, [first, second]] as const
        })
      )
      expect(pids[0]).toBe(pids[1])
      expect(instance === 0 || instance === 1).toBe(true)
      // released: both instances serve submits again
      const replies = yield* Effect.forEach([1, 2], () => pool.submit("/sleep 100"), { concurrency: "unbounded" })
      expect(new Set(replies.map((r) => r.instance)).size).toBe(2)
    }).pipe(provide))

  it.scopedLive("maxRequests recycles an instance, starting the replacement before stopping the old one", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ maxRequests: 3 }))
      const first = (yield* pool.status)[0]?.pid ?? null
      for (let i = 0; i < 3; i++) yield* pool.request(0, `/echo ${i}`)
      // the replacement takes over between turns
      const status = yield* pool.status.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (all) => all[0]?.pid !== first }),
        Effect.timeout("10 seconds"),
        Effect.zipRight(pool.status)
      )
      expect(status[0]?.state).toBe("ready")
      expect(yield* pool.request(0, "/echo after")).toBe("after")
      // the old process is stopped once the new one has taken over
      const gone = yield* Effect.sync(() => running(first)).pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (alive) => !alive }),
        Effect.timeout("5 seconds"),
        Effect.as(true)
      )
      expect(gone).toBe(true)
      expect(status[0]?.requests).toBe(3)
    }).pipe(provide))

  it.scopedLive("capacity does not drop while an instance is recycled", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2, maxUptime: "1 second" }))
      const before = (yield* pool.status).map((s) => s.pid)
      // sample health while recycling happens: an instance is never missing
      const samples: Array<number> = []
      yield* pool.health.pipe(
        Effect.tap((h) =>
          Effect.sync(() => {
            samples.push(h.alive)
          })
        ),
        Effect.repeat({ schedule: Schedule.spaced("10 millis"), times: 200 })
      )
      expect(Math.min(...samples)).toBe(2)
      const after = (yield* pool.status).map((s) => s.pid)
      expect(after.every(running)).toBe(true)
      expect(after.some((pid) => before.includes(pid))).toBe(false) // both were recycled
      expect(before.some(running)).toBe(false)
    }).pipe(provide))

  it.scopedLive("resize grows and shrinks the pool under load", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      const load = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        (i) => pool.submit(`/echo ${i}`),
        { concurrency: 8 }
      ).pipe(Effect.fork)
      yield* pool.resize(5)
      expect((yield* pool.health).ready + (yield* pool.health).busy).toBe(5)
      const removedPids = (yield* pool.status).slice(1).map((s) => s.pid)
      yield* pool.resize(1)
      const replies = yield* Fiber.join(load)
      expect(replies.map((r) => r.output)).toEqual(Array.from({ length: 60 }, (_, i) => String(i)))
      const status = yield* pool.status
      expect(status).toHaveLength(1)
      expect(removedPids.some(running)).toBe(false)
      expect((yield* Effect.flip(pool.request(3, "/echo x")))._tag).toBe("UnknownInstance")
      expect((yield* Effect.flip(pool.resize(0)))._tag).toBe("ConfigError")
    }).pipe(provide))

  it.scopedLive("a failing health probe restarts the instance", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(
        mockTool({
          restart: RestartPolicy.never,
          healthCheck: { input: "/echo alive", expect: "^alive$", every: "100 millis", timeout: "300 millis" }
        })
      )
      const pid = (yield* pool.status)[0]?.pid ?? null
      // make the tool unresponsive without a turn in flight: it stops answering
      yield* pool.send(0, "/hang")
      const status = yield* pool.status.pipe(
        Effect.repeat({
          schedule: Schedule.spaced("50 millis"),
          until: (all) => all[0]?.pid !== pid && all[0]?.state === "ready"
        }),
        Effect.timeout("10 seconds"),
        Effect.zipRight(pool.status)
      )
      expect(status[0]?.restarts).toBeGreaterThanOrEqual(1)
      expect(running(pid)).toBe(false)
    }).pipe(provide))
})
