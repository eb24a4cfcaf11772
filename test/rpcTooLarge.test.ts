import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Framing, ToolPool } from "../src/index.js"

const provide = Effect.provide(NodeContext.layer)

// A JSON-RPC server in a few lines, over ndjson or Content-Length (its first argument). "big"
// answers with a 5000-character result and its id first, "late" the same with its id last,
// anything else with "pong".
const server = `
const over = process.argv[2]
const answer = (request) => {
  const big = "x".repeat(5000)
  const body = request.method === "big"
    ? JSON.stringify({ jsonrpc: "2.0", id: request.id, result: { text: big } })
    : request.method === "late"
    ? JSON.stringify({ jsonrpc: "2.0", result: { text: big, items: [{ id: 999 }] }, id: request.id })
    : JSON.stringify({ jsonrpc: "2.0", id: request.id, result: "pong" })
  process.stdout.write(over === "ndjson" ? body + "\\n" : "Content-Length: " + Buffer.byteLength(body) + "\\r\\n\\r\\n" + body)
}
let pending = Buffer.alloc(0)
process.stdin.on("data", (chunk) => {
  pending = Buffer.concat([pending, chunk])
  while (true) {
    if (over === "ndjson") {
      const end = pending.indexOf(10)
      if (end === -1) return
      const line = pending.subarray(0, end).toString()
      pending = pending.subarray(end + 1)
      if (line.trim() !== "") answer(JSON.parse(line))
    } else {
      const end = pending.indexOf("\\r\\n\\r\\n")
      if (end === -1) return
      const length = Number(/Content-Length: (\\d+)/i.exec(pending.subarray(0, end).toString())[1])
      if (pending.length < end + 4 + length) return
      answer(JSON.parse(pending.subarray(end + 4, end + 4 + length).toString()))
      pending = pending.subarray(end + 4 + length)
    }
  }
})
`

const serverFile = (() => {
  let file: string | undefined
  return () => {
    if (file === undefined) {
      file = join(mkdtempSync(join(tmpdir(), "toolpool-")), "rpc-server.mjs")
      writeFileSync(file, server)
    }
    return file
  }
})()

const rpcPool = (over: "ndjson" | "contentLength") =>
  ToolPool.make({
    command: process.execPath,
    args: [serverFile(), over],
    framing: Framing.jsonRpc({ over }),
    maxResponseBytes: 1000,
    responseQueue: 2,
    turnTimeout: "2 seconds",
    grace: "200 millis"
  })

describe.each(["ndjson", "contentLength"] as const)("a JSON-RPC response over maxResponseBytes, over %s", (over) => {
  it.scopedLive("fails its call with ResponseTooLarge, call after call, and the instance keeps answering", () =>
    Effect.gen(function*() {
      const pool = yield* rpcPool(over)
      // more than responseQueue: oversized answers must not fill any queue
      for (let i = 0; i < 5; i++) {
        const error = yield* Effect.flip(pool.call(0, "big"))
        expect(error._tag).toBe("ResponseTooLarge")
        expect(error.message).toContain("larger than 1000 bytes")
      }
      expect(yield* pool.call(0, "ping")).toBe("pong")
      const [status] = yield* pool.status
      expect(status?.state).toBe("ready")
      // the tool answered all six, five of them too large: all count (docs/observability.md)
      expect(status?.requests).toBe(6)
    }).pipe(provide))

  it.scopedLive("concurrent calls: each oversized answer fails the call its id names", () =>
    Effect.gen(function*() {
      const pool = yield* rpcPool(over)
      const outcomes = yield* Effect.all(
        ["big", "ping", "big", "ping", "big"].map((method) => Effect.either(pool.call(0, method))),
        { concurrency: "unbounded" }
      )
      expect(outcomes.map((o) => o._tag === "Left" ? o.left._tag : o.right)).toEqual([
        "ResponseTooLarge",
        "pong",
        "ResponseTooLarge",
        "pong",
        "ResponseTooLarge"
      ])
    }).pipe(provide))

  it.scopedLive("an answer whose id comes after the cut fails the only call pending", () =>
    Effect.gen(function*() {
      const pool = yield* rpcPool(over)
      const error = yield* Effect.flip(pool.call(0, "late"))
      expect(error._tag).toBe("ResponseTooLarge")
      expect(yield* pool.call(0, "ping")).toBe("pong")
    }).pipe(provide))

  it.scopedLive("request on a JSON-RPC pool fails with ResponseTooLarge too", () =>
    Effect.gen(function*() {
      const pool = yield* rpcPool(over)
      for (let i = 0; i < 4; i++) {
        const error = yield* Effect.flip(pool.request(0, JSON.stringify({ method: "big" })))
        expect(error._tag).toBe("ResponseTooLarge")
      }
      expect(yield* pool.request(0, JSON.stringify({ method: "ping" }))).toBe("\"pong\"")
    }).pipe(provide))
})
