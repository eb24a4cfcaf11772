import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import * as Framing from "../../../src/Framing.js"
import { encode, makeCodec, makeDecoder, waitsForBanner } from "../../../src/internal/framing/index.js"
import { bytes, feed, texts } from "./chunks.js"

const text = (data: string | Uint8Array) => typeof data === "string" ? data : new TextDecoder().decode(data)

describe("makeCodec", () => {
  it("lines: one line per request, nothing at start-up, no banner", () => {
    const codec = makeCodec(Framing.lines(), 100)
    expect(text(codec.encode("hi"))).toBe("hi\n")
    expect(text(codec.encode("hi\n"))).toBe("hi\n")
    expect([codec.startup, codec.waitsForBanner, codec.flushAfter, codec.mergeStderr, codec.rpc]).toEqual([
      [],
      false,
      undefined,
      false,
      undefined
    ])
  })

  it("prompt: sends the prompt change at start-up, waits for the banner, merges stderr when asked", () => {
    const codec = makeCodec(
      Framing.prompt(/<tp> $/, { promptChange: "import sys; sys.ps1 = '<tp> '", stderr: true, settle: "20 millis" }),
      100
    )
    expect(codec.startup.map(text)).toEqual(["import sys; sys.ps1 = '<tp> '\n"])
    expect(codec.waitsForBanner).toBe(true)
    expect(codec.mergeStderr).toBe(true)
    expect(codec.flushAfter && Duration.toMillis(codec.flushAfter)).toBe(20)
  })

  it("prompt: the encoder tells the decoder what to strip as echo", () => {
    const codec = makeCodec(Framing.prompt(/> $/, { stripEcho: true }), 100)
    expect(texts(codec.decoder.push(bytes("banner\n> ")))).toEqual(["banner"])
    expect(text(codec.encode("2+2"))).toBe("2+2\n")
    expect(texts(codec.decoder.push(bytes("2+2\r\n4\r\n> ")))).toEqual(["4"])
    // The echo is forgotten once a response has come: the next one is not touched.
    expect(texts(codec.decoder.push(bytes("2+2\n> ")))).toEqual(["2+2"])
  })

  it("sentinel: prints the marker at start-up, so the first frame tells the tool is ready", () => {
    const framing = Framing.sentinel({ command: ".print {marker}", marker: "__marker_123__" })
    const codec = makeCodec(framing, 100)
    expect(codec.startup.map(text)).toEqual([".print __marker_123__\n"])
    expect(codec.waitsForBanner).toBe(true)
    expect(text(codec.encode("select 1;"))).toBe("select 1;\n.print __marker_123__\n")
    expect(texts(feed(codec.decoder, [bytes("__marker_123__\n1\n__marker_123__\n")]))).toEqual(["", "1"])
  })

  it("quiet: the pool flushes the decoder after the quiet period", () => {
    const codec = makeCodec(Framing.quiet("300 millis"), 100)
    expect(codec.flushAfter && Duration.toMillis(codec.flushAfter)).toBe(300)
    codec.decoder.push(bytes("out\n"))
    expect(codec.decoder.flush?.()).toEqual({ _tag: "Response", text: "out" })
  })

  it("contentLength and ndjson frame each request their own way", () => {
    expect(text(makeCodec(Framing.contentLength(), 100).encode("{}"))).toBe("Content-Length: 2\r\n\r\n{}")
    expect(text(makeCodec(Framing.ndjson(), 100).encode("{\n  \"a\": 1\n}"))).toBe("{   \"a\": 1 }\n")
  })

  it("jsonRpc: has the rpc encoder, and encode frames a message given as text", () => {
    const codec = makeCodec(Framing.jsonRpc({ over: "ndjson" }), 100)
    expect(codec.rpc?.request("ping").id).toBe(1)
    expect(text(codec.encode("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}"))).toBe(
      "{\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n"
    )
    expect(codec.decoder.push(bytes("{\"id\":1,\"result\":{}}\n"))).toMatchObject([{ _tag: "RpcResponse", id: 1 }])
  })

  it("each codec has its own state: two instances do not share partial output or ids", () => {
    const framing = Framing.jsonRpc({ over: "ndjson" })
    const a = makeCodec(framing, 100)
    const b = makeCodec(framing, 100)
    expect([a.rpc?.request("x").id, b.rpc?.request("x").id]).toEqual([1, 1])
    expect(a.decoder.push(bytes("{\"id\":1,"))).toEqual([])
    expect(b.decoder.push(bytes("\"result\":1}\n"))).toMatchObject([{ _tag: "Skipped" }])
  })

  it("the former functions keep their behaviour for lines and prompt", () => {
    expect(waitsForBanner(Framing.prompt(/> $/))).toBe(true)
    expect(waitsForBanner(Framing.lines())).toBe(false)
    expect(text(encode(Framing.lines(), "x"))).toBe("x\n")
    expect(texts(makeDecoder(Framing.prompt(/> $/), 100).push(bytes("a\n> ")))).toEqual(["a"])
  })
})
