import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"
import { processesTagged, running } from "./utils/processes.js"

const provide = Effect.provide(NodeContext.layer)

const pidsOf = (pool: ToolPool.ToolPool) =>
  Effect.map(pool.status, (status) => status.map((s) => s.pid).filter((pid): pid is number => pid !== null))

describe("shutdown", () => {
  it.live("closing the scope stops every instance", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(mockTool({ instances: 3 })).pipe(Scope.extend(scope))
      const pids = yield* pidsOf(pool)
      expect(pids).toHaveLength(3)
      expect(pids.every(running)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(pids.some(running)).toBe(false)
      const status = yield* pool.status
      expect(status.every((s) => s.state === "stopped")).toBe(true)
    }).pipe(provide))

  it.live("a tool that ignores SIGTERM is killed within grace + killAfter + 1 s", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(
        mockTool({ instances: 2, flags: ["--ignore-sigterm"], grace: "300 millis", killAfter: "500 millis" })
      ).pipe(Scope.extend(scope))
      // it does not exit on stdin EOF either while it hangs
      yield* pool.send(0, "/hang")
      yield* pool.send(1, "/hang")
      const pids = yield* pidsOf(pool)
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const took = Date.now() - started
      expect(took).toBeLessThan(300 + 500 + 1000)
      expect(took).toBeGreaterThanOrEqual(300 + 500 - 50) // it did wait before SIGKILL
      expect(pids.some(running)).toBe(false)
      const status = yield* pool.status
      expect(status.every((s) => s.lastExit?.signal === "SIGKILL")).toBe(true)
    }).pipe(provide))

  it.live("no grandchild survives, even one that ignores SIGTERM", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(mockTool({ grace: "200 millis", killAfter: "300 millis" })).pipe(
        Scope.extend(scope)
      )
      const reply = yield* pool.request(0, "/spawn-child")
      const grandchild = Number(/spawned (\d+)/.exec(reply)?.[1])
      expect(grandchild).toBeGreaterThan(0)
      expect(running(grandchild)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(running(grandchild)).toBe(false)
    }).pipe(provide))

  it.live("a grandchild left behind by a tool that exited gracefully is reaped too", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(mockTool({ grace: "1 second", killAfter: "300 millis" })).pipe(
        Scope.extend(scope)
      )
      const reply = yield* pool.request(0, "/spawn-child")
      const grandchild = Number(/spawned (\d+)/.exec(reply)?.[1])
      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      // the tool itself leaves on stdin EOF at once; its child needed SIGKILL after killAfter
      expect(Date.now() - started).toBeLessThan(1000 + 300 + 1000)
      expect(running(grandchild)).toBe(false)
    }).pipe(provide))

  it.live("shutdown lets a turn in flight finish first", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(mockTool({ drain: "5 seconds" })).pipe(Scope.extend(scope))
      const turn = yield* Effect.fork(pool.request(0, "/sleep 300"))
      yield* Effect.sleep("50 millis")
      yield* pool.shutdown
      expect(yield* Fiber.join(turn)).toBe("slept 300")
      yield* Scope.close(scope, Exit.void)
    }).pipe(provide))

  it.live("the drain deadline bounds a turn that never ends", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(
        mockTool({ drain: "200 millis", grace: "200 millis", killAfter: "200 millis" })
      ).pipe(Scope.extend(scope))
      const turn = yield* Effect.fork(pool.request(0, "/hang", { timeout: "1 minute" }))
      yield* Effect.sleep("50 millis")
      const started = Date.now()
      yield* pool.shutdown
      expect(Date.now() - started).toBeLessThan(200 + 200 + 200 + 1000)
      const exit = yield* Fiber.await(turn)
      expect(Exit.isFailure(exit)).toBe(true)
      yield* Scope.close(scope, Exit.void)
    }).pipe(provide))

  it.live("32 instances spawn and shut down", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(mockTool({ instances: 32 })).pipe(Scope.extend(scope))
      const health = yield* pool.health
      expect(health.ready).toBe(32)
      const answers = yield* Effect.forEach(
        Array.from({ length: 32 }, (_, id) => id),
        (id) => pool.request(id, `/echo ${id}`),
        { concurrency: "unbounded" }
      )
      expect(answers).toEqual(Array.from({ length: 32 }, (_, id) => String(id)))
      const pids = yield* pidsOf(pool)
      expect(new Set(pids).size).toBe(32)
      yield* Scope.close(scope, Exit.void)
      expect(pids.some(running)).toBe(false)
    }).pipe(provide))

  it.live("a failed start stops the instances that did start", () =>
    Effect.gen(function*() {
      // every instance but the slowest could start; the pool fails as a whole
      const tag = `failed-start-${process.pid}-${Date.now()}`
      const sample = yield* Effect.fork(
        Effect.delay(Effect.sync(() => processesTagged(tag).filter(running)), "150 millis")
      )
      const exit = yield* Effect.exit(
        Effect.scoped(
          ToolPool.make(
            mockTool({
              instances: 4,
              startTimeout: "300 millis",
              flags: ["--start-delay", "2000"],
              env: { TOOLPOOL_TEST_CASE: tag }
            })
          )
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Fiber.join(sample)).toHaveLength(4) // they were there
      expect(processesTagged(tag).filter(running)).toEqual([])
    }).pipe(provide))
})

describe("shutdown, interrupted", () => {
  it.live("interrupting the caller of shutdown does not cut the shutdown short", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pool = yield* ToolPool.make(
        mockTool({ instances: 2, flags: ["--ignore-sigterm"], grace: "200 millis", killAfter: "300 millis" })
      ).pipe(Scope.extend(scope))
      yield* pool.send(0, "/hang")
      yield* pool.send(1, "/hang")
      const pids = yield* pidsOf(pool)
      const caller = yield* Effect.fork(pool.shutdown)
      yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(caller)
      // the scope's own shutdown waits for the one under way, which finishes
      yield* Scope.close(scope, Exit.void)
      expect(pids.some(running)).toBe(false)
    }).pipe(provide))
})
