import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Framing from "../../../src/Framing.js"
import { classify, makeJsonRpcDecoder, makeJsonRpcEncoder, peekMessage } from "../../../src/internal/framing/jsonRpc.js"
import { byteByByte, bytes, cutPoints, feed, splitAt } from "./chunks.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)

describe("jsonRpc framing", () => {
  it("encodes requests with ids counted up from 1, over ndjson", () => {
    const rpc = makeJsonRpcEncoder(Framing.jsonRpc({ over: "ndjson" }))
    const first = rpc.request("initialize", { capabilities: {} })
    const second = rpc.request("tools/list")
    expect([first.id, second.id]).toEqual([1, 2])
    expect(text(first.bytes)).toBe(
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"capabilities\":{}}}\n"
    )
    expect(text(second.bytes)).toBe("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n")
  })

  it("encodes notifications, results and errors, over Content-Length", () => {
    const rpc = makeJsonRpcEncoder(Framing.jsonRpc({ over: "contentLength" }))
    const body = "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}"
    expect(text(rpc.notify("initialized", {}))).toBe(`Content-Length: ${body.length}\r\n\r\n${body}`)
    expect(text(rpc.respond(7, undefined))).toContain("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":null}")
    expect(text(rpc.respondError("a", { code: -32601, message: "no such method" }))).toContain(
      "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":-32601,\"message\":\"no such method\"}}"
    )
  })

  it("tells responses, errors, notifications and requests from the tool apart", () => {
    const lines = [
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ok\":true}}",
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32600,\"message\":\"bad\"}}",
      "{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{\"message\":\"hi\"}}",
      "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"method\":\"workspace/configuration\",\"params\":[]}"
    ]
    expect(lines.flatMap(classify)).toEqual([
      { _tag: "RpcResponse", id: 1, result: { ok: true }, error: undefined, text: lines[0] },
      { _tag: "RpcResponse", id: 2, result: undefined, error: { code: -32600, message: "bad" }, text: lines[1] },
      { _tag: "RpcNotification", method: "window/logMessage", params: { message: "hi" }, text: lines[2] },
      { _tag: "RpcRequest", id: "s1", method: "workspace/configuration", params: [], text: lines[3] }
    ])
  })

  it("takes a batch apart and skips what is not JSON-RPC, saying why", () => {
    const frames = classify("[{\"id\":1,\"result\":1},{\"method\":\"note\"},3]")
    expect(frames.map((f) => f._tag)).toEqual(["RpcResponse", "RpcNotification", "Skipped"])
    expect(classify("{\"id\":1}")).toMatchObject([{
      _tag: "Skipped",
      reason: expect.stringMatching(/neither result nor error/)
    }])
    expect(classify("{\"method\":1}")).toMatchObject([{ _tag: "Skipped", reason: expect.stringMatching(/method/) }])
    expect(classify("{\"id\":1,\"error\":\"x\"}")).toMatchObject([{
      _tag: "Skipped",
      reason: expect.stringMatching(/malformed/)
    }])
    expect(classify("{\"id\":null,\"method\":\"x\"}")).toMatchObject([{
      _tag: "Skipped",
      reason: expect.stringMatching(/id/)
    }])
    expect(classify("oops")).toMatchObject([{ _tag: "Skipped", reason: expect.stringMatching(/not JSON/) }])
    expect(classify("{\"id\":null,\"error\":{\"code\":-32700,\"message\":\"parse error\"}}")).toMatchObject([
      { _tag: "RpcResponse", id: null, error: { code: -32700 } }
    ])
  })

  it("decodes over ndjson, a line over maxBytes being TooLarge", () => {
    const decoder = makeJsonRpcDecoder(Framing.jsonRpc({ over: "ndjson" }), 40)
    const frames = feed(decoder, [
      bytes(`{"id":1,"result":"${"x".repeat(50)}"}\n\n{"id":2,"result":2}\r\n`)
    ])
    expect(frames).toMatchObject([{ _tag: "TooLarge" }, { _tag: "RpcResponse", id: 2, result: 2 }])
  })

  it("decodes over Content-Length", () => {
    const decoder = makeJsonRpcDecoder(Framing.jsonRpc({ over: "contentLength" }), 1000)
    const rpc = makeJsonRpcEncoder(Framing.jsonRpc({ over: "contentLength" }))
    const frames = feed(decoder, [bytes(rpc.notify("$/progress", { v: "é" }), rpc.respond(3, [1]))])
    expect(frames).toMatchObject([
      { _tag: "RpcNotification", method: "$/progress", params: { v: "é" } },
      { _tag: "RpcResponse", id: 3, result: [1] }
    ])
  })

  it("finds the id of a message too large to read in its start, and only a top-level one", () => {
    expect(peekMessage("{\"jsonrpc\":\"2.0\",\"id\":17,\"result\":{\"text\":\"xxxx")).toEqual({ id: 17, method: false })
    expect(peekMessage(" { \"id\" : \"a\\\"b\", \"result\": [")).toEqual({ id: "a\"b", method: false })
    // an "id" inside the result is not the message's; the message's own comes after the cut
    expect(peekMessage("{\"result\":{\"items\":[{\"id\":3},{\"text\":\"id\"}],\"more\":\"xx")).toEqual({
      id: undefined,
      method: false
    })
    // a number at the very end may be cut short
    expect(peekMessage("{\"id\":12")).toEqual({ id: undefined, method: false })
    expect(peekMessage("{\"id\":5,\"method\":\"workspace/applyEdit\",\"params\":{")).toEqual({ id: 5, method: true })
    expect(peekMessage("[{\"id\":1,\"result\":1}")).toEqual({ id: undefined, method: false })
  })

  for (const over of ["ndjson", "contentLength"] as const) {
    it(`over ${over}, a message over maxBytes is TooLarge with its id, or Skipped when it is the tool's own`, () => {
      const framing = Framing.jsonRpc({ over })
      const rpc = makeJsonRpcEncoder(framing)
      const big = "é".repeat(3000)
      const data = bytes(
        rpc.respond(4, { text: big }),
        rpc.raw(JSON.stringify({ result: { text: big }, id: 5 })),
        rpc.notify("$/log", { text: big }),
        rpc.respond(6, "small")
      )
      for (const chunks of [[data], byteByByte(data)]) {
        expect(feed(makeJsonRpcDecoder(framing, 1000), chunks)).toMatchObject([
          { _tag: "TooLarge", id: 4 },
          { _tag: "TooLarge" },
          { _tag: "Skipped", reason: expect.stringMatching(/request or notification/) },
          { _tag: "RpcResponse", id: 6, result: "small" }
        ])
      }
      const frames = feed(makeJsonRpcDecoder(framing, 1000), [data])
      expect(frames[1]).toEqual({ _tag: "TooLarge" })
      // only the start of the message is kept
      expect(frames[2]?._tag === "Skipped" && frames[2].text.length <= 512).toBe(true)
    })
  }

  for (const over of ["ndjson", "contentLength"] as const) {
    it.prop(`over ${over}, any split of what the encoder wrote decodes to the same messages`, {
      calls: fc.array(fc.tuple(fc.constantFrom("request", "notify", "respond"), fc.jsonValue({ maxDepth: 2 })), {
        maxLength: 8
      }),
      cuts: cutPoints
    }, ({ calls, cuts }) => {
      const framing = Framing.jsonRpc({ over })
      const rpc = makeJsonRpcEncoder(framing)
      const data = bytes(
        ...calls.map(([kind, params]) =>
          kind === "request"
            ? rpc.request("m", params).bytes
            : kind === "notify"
            ? rpc.notify("n", params)
            : rpc.respond(9, params)
        )
      )
      const whole = feed(makeJsonRpcDecoder(framing, 10_000), [data])
      expect(whole.map((f) => f._tag)).toEqual(
        calls.map(([kind]) => kind === "request" ? "RpcRequest" : kind === "notify" ? "RpcNotification" : "RpcResponse")
      )
      expect(feed(makeJsonRpcDecoder(framing, 10_000), splitAt(data, cuts))).toEqual(whole)
    })
  }
})
