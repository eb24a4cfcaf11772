import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, Schedule } from "effect"
import { RestartPolicy, ToolPool, ToolPoolMetrics } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"

const count = (metric: Metric.Metric.Counter<number>, tags: Record<string, string>) => {
  for (const [key, value] of Object.entries(tags)) metric = Metric.tagged(metric, key, value)
  return Effect.map(Metric.value(metric), (state) => state.count)
}

describe("metrics", () => {
  it.scopedLive("requests by outcome, latency, restarts and instances by state after a run", () =>
    Effect.gen(function*() {
      const pool = `metrics-${process.pid}-${Date.now()}`
      const tool = yield* ToolPool.make(
        mockTool({
          name: pool,
          instances: 2,
          restart: RestartPolicy.onFailure({ schedule: Schedule.spaced("10 millis") })
        })
      )
      yield* Effect.forEach([1, 2, 3, 4, 5], (n) => tool.submit(`/echo ${n}`))
      yield* Effect.flip(tool.request(0, "/crash 2"))
      yield* Effect.flip(tool.request(1, "/sleep 500", { timeout: "50 millis" }))
      yield* tool.health.pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (h) => h.ready === 2 }),
        Effect.timeout("10 seconds")
      )

      expect(yield* count(ToolPoolMetrics.requests, { pool, outcome: "ok" })).toBe(5)
      expect(yield* count(ToolPoolMetrics.requests, { pool, outcome: "InstanceExited" })).toBe(1)
      expect(yield* count(ToolPoolMetrics.requests, { pool, outcome: "TurnTimeout" })).toBe(1)
      expect(yield* count(ToolPoolMetrics.restarts, { pool })).toBe(1)

      const latency = yield* Metric.value(
        Metric.tagged(ToolPoolMetrics.turnLatency, "pool", pool)
      )
      expect(latency.count).toBe(7)
      expect(latency.min).toBeGreaterThan(0)
      expect(latency.max).toBeGreaterThanOrEqual(50) // the timed-out turn waited its 50 ms

      const ready = yield* Metric.value(
        ToolPoolMetrics.instances.pipe(Metric.tagged("pool", pool), Metric.tagged("state", "ready"))
      )
      expect(ready.value).toBe(2)
    }).pipe(Effect.provide(NodeContext.layer)))
})
