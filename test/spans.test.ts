import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Tracer } from "effect"
import { ToolPool } from "../src/index.js"
import { mockTool } from "./utils/mockTool.js"

/** A tracer that records the name, parent and attributes of every span that ends. */
const recording = () => {
  const ended: Array<{ name: string; parent: string | undefined; attributes: Record<string, unknown> }> = []
  const native = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        end(endTime, exit)
        ended.push({
          name,
          parent: Option.match(parent, {
            onNone: () => undefined,
            onSome: (p) => p._tag === "Span" ? p.name : p.spanId
          }),
          attributes: Object.fromEntries(span.attributes)
        })
      }
      return span
    },
    context: (f) => f()
  })
  return { tracer, ended }
}

describe("spans", () => {
  it.scopedLive("with a tracer installed, each turn is a toolpool.turn span under the caller's span", () =>
    Effect.gen(function*() {
      const { ended, tracer } = recording()
      const pool = yield* ToolPool.make(mockTool({ instances: 2 }))
      yield* Effect.all([pool.request(1, "/echo one"), pool.submit("/echo two")]).pipe(
        Effect.withSpan("caller"),
        Effect.withTracer(tracer)
      )
      const turns = ended.filter((span) => span.name === "toolpool.turn")
      expect(turns).toHaveLength(2)
      expect(turns.every((span) => span.parent === "caller")).toBe(true)
      expect(turns[0]?.attributes).toEqual({ instance: 1 })
    }).pipe(Effect.provide(NodeContext.layer)))
})
