import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule } from "effect"
import { ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"

const provide = Effect.provide(NodeContext.layer)

describe("submit", () => {
  it.scopedLive("spreads turns over idle instances and answers each caller its own", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 4 }))
      const inputs = Array.from({ length: 60 }, (_, i) => `/echo job ${i}`)
      const replies = yield* Effect.forEach(inputs, (input) => pool.submit(input), { concurrency: "unbounded" })
      expect(replies.map((r) => r.output)).toEqual(inputs.map((input) => input.slice("/echo ".length)))
      expect(new Set(replies.map((r) => r.instance)).size).toBe(4)
      const status = yield* pool.status
      expect(status.reduce((sum, s) => sum + s.requests, 0)).toBe(60)
    }).pipe(provide))

  it.scopedLive("runs turns in parallel on different instances", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 3 }))
      const replies = yield* Effect.forEach([1, 2, 3], () => pool.submit("/sleep 300"), { concurrency: "unbounded" })
      expect(new Set(replies.map((r) => r.instance))).toEqual(new Set([0, 1, 2]))
    }).pipe(provide))

  it.scopedLive("waiters are served first come, first served", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1 }))
      const order: Array<number> = []
      const busy = yield* Effect.fork(pool.submit("/sleep 200"))
      yield* Effect.sleep("50 millis")
      const waiters = yield* Effect.forEach([1, 2, 3, 4, 5], (n) =>
        Effect.fork(
          pool.submit(`/echo ${n}`).pipe(Effect.tap(() =>
            Effect.sync(() => {
              order.push(n)
            })
          ))
        ).pipe(Effect.zipLeft(Effect.sleep("10 millis"))))
      yield* Fiber.join(busy)
      yield* Effect.forEach(waiters, Fiber.join)
      expect(order).toEqual([1, 2, 3, 4, 5])
    }).pipe(provide))

  it.scopedLive("a full wait queue fails at once with PoolBusy", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1, maxQueue: 2 }))
      yield* Effect.fork(pool.submit("/sleep 500"))
      yield* Effect.sleep("50 millis")
      yield* Effect.fork(pool.submit("/echo a"))
      yield* Effect.fork(pool.submit("/echo b"))
      yield* Effect.sleep("50 millis")
      const error = yield* Effect.flip(pool.submit("/echo c"))
      expect(error._tag).toBe("PoolBusy")
      if (error._tag === "PoolBusy") expect(error.queued).toBe(2)
    }).pipe(provide))

  it.scopedLive("the acquire timeout fails with PoolBusy and leaves the queue", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1 }))
      yield* Effect.fork(pool.submit("/sleep 400"))
      yield* Effect.sleep("50 millis")
      const error = yield* Effect.flip(pool.submit("/echo late", { acquireTimeout: "100 millis" }))
      expect(error._tag).toBe("PoolBusy")
      // the pool still serves once the instance is free
      expect((yield* pool.submit("/echo next")).output).toBe("next")
    }).pipe(provide))

  it.scopedLive("the same key goes to the same instance", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 4 }))
      const a = yield* Effect.forEach([1, 2, 3, 4, 5], () => pool.submit("/pid", { key: "alice" }))
      const b = yield* Effect.forEach([1, 2, 3], () => pool.submit("/pid", { key: "bob" }))
      expect(new Set(a.map((r) => r.output)).size).toBe(1)
      expect(new Set(b.map((r) => r.output)).size).toBe(1)
    }).pipe(provide))

  it.scopedLive("a key whose instance died is given another", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      const first = yield* pool.submit("/echo hi", { key: "k" })
      yield* Effect.flip(pool.request(first.instance, "/crash 1"))
      const second = yield* pool.submit("/echo again", { key: "k" })
      expect(second.instance).not.toBe(first.instance)
      expect(second.output).toBe("again")
    }).pipe(provide))

  it.scopedLive("retry runs the turn on another instance when its instance died under it", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      let attempts = 0
      // the first attempt kills its instance; the retry gets the other one
      const reply = yield* Effect.suspend(() => {
        attempts++
        return pool.submit(attempts === 1 ? "/crash 9" : "/echo survived")
      }).pipe(Effect.retry({ times: 1 }))
      expect(reply.output).toBe("survived")
      // with the submit option itself: the crashing input fails on every instance it is tried on
      const error = yield* Effect.flip(pool.submit("/crash 9", { retry: Schedule.recurs(3) }))
      expect(error._tag === "InstanceExited" || error._tag === "PoolBusy").toBe(true)
    }).pipe(provide))

  it.scopedLive("retry with the submit option recovers from an instance that dies mid-turn", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      // kill instance 0 from outside while a turn runs on it; the retry goes to instance 1
      const turn = yield* Effect.fork(pool.submit("/sleep 300", { retry: Schedule.recurs(2) }))
      yield* Effect.sleep("100 millis")
      const busy = (yield* pool.status).find((s) => s.state === "busy")
      expect(busy?.pid).toBeGreaterThan(0)
      if (busy?.pid) process.kill(busy.pid, "SIGKILL")
      const reply = yield* Fiber.join(turn)
      expect(reply.output).toBe("slept 300")
      expect(reply.instance).not.toBe(busy?.id)
    }).pipe(provide))

  it.scopedLive("interrupting a caller cancels its turn without killing the instance", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1 }))
      const pid = (yield* pool.status)[0]?.pid
      const turn = yield* Effect.fork(pool.submit("/sleep 200"))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(turn)
      expect((yield* pool.submit("/echo ok")).output).toBe("ok")
      expect((yield* pool.status)[0]?.pid).toBe(pid)
    }).pipe(provide))

  it.scopedLive("after shutdown submit fails with PoolClosed, and waiters are not left hanging", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(mockTool({ instances: 1, drain: "1 second" }))
      yield* Effect.fork(pool.submit("/sleep 200"))
      yield* Effect.sleep("50 millis")
      const waiter = yield* Effect.fork(pool.submit("/echo w", { acquireTimeout: "3 seconds" }))
      yield* pool.shutdown
      const exit = yield* Fiber.await(waiter)
      // the waiter either ran before the stop or failed typed; it did not hang
      expect(Exit.isExit(exit)).toBe(true)
      expect((yield* Effect.flip(pool.submit("/echo x")))._tag).toBe("PoolClosed")
    }).pipe(provide))
})
