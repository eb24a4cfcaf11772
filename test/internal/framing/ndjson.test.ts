import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import * as Framing from "../../../src/Framing.js"
import type { Frame } from "../../../src/internal/framing/frame.js"
import { encodeNdjson, makeNdjsonDecoder } from "../../../src/internal/framing/ndjson.js"
import { byteByByte, bytes, cutPoints, feed, splitAt, utf8Length } from "./chunks.js"

const claude = Framing.ndjson({ endsTurn: (m) => m.type === "result" })

describe("ndjson framing", () => {
  it("makes every message a turn of its own by default", () => {
    const frames = feed(makeNdjsonDecoder(Framing.ndjson(), 1000), [bytes("{\"a\":1}\n[2]\r\n\"x\"\n")])
    expect(frames).toEqual([
      { _tag: "Response", text: "{\"a\":1}", value: [{ a: 1 }] },
      { _tag: "Response", text: "[2]", value: [[2]] },
      { _tag: "Response", text: "\"x\"", value: ["x"] }
    ])
  })

  it("does not count the \\r of a \\r\\n against maxBytes", () => {
    // `"abcdefgh"` is 10 bytes
    const at = (maxBytes: number) =>
      feed(makeNdjsonDecoder(Framing.ndjson(), maxBytes), byteByByte(bytes("\"abcdefgh\"\r\n")))
    expect(at(10)).toEqual([{ _tag: "Response", text: "\"abcdefgh\"", value: ["abcdefgh"] }])
    expect(at(9)).toEqual([{ _tag: "TooLarge" }])
  })

  it("gathers the messages of a turn up to the one endsTurn accepts", () => {
    const stream =
      "{\"type\":\"system\"}\n{\"type\":\"assistant\",\"text\":\"hé\"}\n{\"type\":\"result\",\"result\":\"ok\"}\n"
    const frames = feed(makeNdjsonDecoder(claude, 1000), byteByByte(bytes(stream)))
    expect(frames).toEqual([{
      _tag: "Response",
      text: stream.trimEnd(),
      value: [{ type: "system" }, { type: "assistant", text: "hé" }, { type: "result", result: "ok" }]
    }])
  })

  it("ends a turn on field values given as data", () => {
    const codex = Framing.ndjson({ endsTurn: { method: "turn/completed" } })
    const frames = feed(makeNdjsonDecoder(codex, 1000), [
      bytes("{\"method\":\"item\"}\n{\"method\":\"turn/completed\",\"params\":{}}\n{\"method\":\"item\"}\n")
    ])
    expect(frames).toEqual([{
      _tag: "Response",
      text: "{\"method\":\"item\"}\n{\"method\":\"turn/completed\",\"params\":{}}",
      value: [{ method: "item" }, { method: "turn/completed", params: {} }]
    }])
  })

  it("skips and reports lines that are not JSON, and ignores blank lines", () => {
    const frames = feed(makeNdjsonDecoder(claude, 1000), [bytes("Loading...\n\n  \n{\"type\":\"result\"}\n")])
    expect(frames.map((f) => f._tag)).toEqual(["Skipped", "Response"])
    expect(frames[0]).toMatchObject({ _tag: "Skipped", text: "Loading..." })
    expect(frames[0]?._tag === "Skipped" && frames[0].reason).toMatch(/not JSON/)
  })

  it("decodes messages with a schema, skipping those it rejects, and gives endsTurn the decoded value", () => {
    const Message = Schema.Union(
      Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
      Schema.Struct({ type: Schema.Literal("done"), at: Schema.DateFromString })
    )
    const framing = Framing.ndjson({
      schema: Message,
      endsTurn: (m) => m.type === "done" && m.at.getFullYear() === 2024
    })
    const frames = feed(makeNdjsonDecoder(framing, 1000), [
      bytes("{\"type\":\"text\",\"text\":\"hi\"}\n{\"type\":\"other\"}\n{\"type\":\"done\",\"at\":\"2024-05-01\"}\n")
    ])
    expect(frames.map((f) => f._tag)).toEqual(["Skipped", "Response"])
    const [, last] = frames
    expect(last?._tag === "Response" && last.value).toEqual([
      { type: "text", text: "hi" },
      { type: "done", at: new Date("2024-05-01") }
    ])
  })

  it("gives endsTurn only JSON objects when there is no schema", () => {
    const seen: Array<unknown> = []
    const framing = Framing.ndjson({ endsTurn: (m) => (seen.push(m), m.done === true) })
    const frames = feed(makeNdjsonDecoder(framing, 1000), [bytes("null\n3\n{\"done\":true}\n")])
    expect(seen).toEqual([{ done: true }])
    expect(frames).toEqual([{ _tag: "Response", text: "null\n3\n{\"done\":true}", value: [null, 3, { done: true }] }])
  })

  it("skips a message whose endsTurn throws instead of failing", () => {
    const framing = Framing.ndjson({
      endsTurn: (m) => {
        if (m.boom === true) throw new Error("boom")
        return true
      }
    })
    const frames = feed(makeNdjsonDecoder(framing, 1000), [bytes("{\"boom\":true}\n{\"ok\":1}\n")])
    expect(frames).toEqual([
      { _tag: "Skipped", text: "{\"boom\":true}", reason: "endsTurn threw: boom" },
      { _tag: "Response", text: "{\"ok\":1}", value: [{ ok: 1 }] }
    ])
  })

  it("reports a turn over maxBytes once, drops the rest of it, and resumes with the next turn", () => {
    const line = "{\"type\":\"assistant\",\"text\":\"0123456789\"}" // 40 bytes
    const stream = `${line}\n${line}\n${line}\n{"type":"result"}\n${line}\n{"type":"result"}\n`
    const frames = feed(makeNdjsonDecoder(claude, 100), [bytes(stream)])
    expect(frames).toEqual([
      { _tag: "TooLarge" },
      {
        _tag: "Response",
        text: `${line}\n{"type":"result"}`,
        value: [{ type: "assistant", text: "0123456789" }, { type: "result" }]
      }
    ])
  })

  it("drops a line over maxBytes without parsing it, then waits for the end of the turn", () => {
    const frames = feed(makeNdjsonDecoder(claude, 30), [
      bytes(`{"text":"${"x".repeat(100)}"}\n{"n":1}\n{"type":"result"}\n{"type":"result"}\n`)
    ])
    expect(frames).toEqual([{ _tag: "TooLarge" }, {
      _tag: "Response",
      text: "{\"type\":\"result\"}",
      value: [{ type: "result" }]
    }])
  })

  it("cannot see the end of a turn in a line over maxBytes: it re-syncs at the end of the next turn", () => {
    const frames = feed(makeNdjsonDecoder(claude, 30), [
      bytes(`{"type":"result","result":"${"x".repeat(100)}"}\n{"n":2}\n{"type":"result"}\n{"type":"result"}\n`)
    ])
    expect(frames).toEqual([{ _tag: "TooLarge" }, {
      _tag: "Response",
      text: "{\"type\":\"result\"}",
      value: [{ type: "result" }]
    }])
  })

  it("encodes a request as one line, even when it was pretty-printed", () => {
    const encoded = new TextDecoder().decode(encodeNdjson(JSON.stringify({ a: "x\ny", b: [1, 2] }, null, 2)))
    expect(encoded.endsWith("\n")).toBe(true)
    expect(encoded.slice(0, -1)).not.toContain("\n")
    expect(JSON.parse(encoded)).toEqual({ a: "x\ny", b: [1, 2] })
  })

  it.prop("any split of the stream gives the frames of the whole", {
    turns: fc.array(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), { maxLength: 5 }),
    // At least the 12 bytes of the line that ends a turn: a line too long to parse cannot end one.
    maxBytes: fc.integer({ min: 12, max: 400 }),
    cuts: cutPoints
  }, ({ cuts, maxBytes, turns }) => {
    const framing = Framing.ndjson({ endsTurn: { end: true } })
    const lines = turns.map((messages) => [...messages.map((m) => JSON.stringify([m])), "{\"end\":true}"])
    const data = bytes(lines.flat().map((l) => l + "\n").join(""))
    const expected: Array<Frame> = lines.map((turn) => {
      const text = turn.join("\n")
      return utf8Length(text) > maxBytes
        ? { _tag: "TooLarge" }
        : { _tag: "Response", text, value: turn.map((l) => JSON.parse(l)) }
    })
    expect(feed(makeNdjsonDecoder(framing, maxBytes), splitAt(data, cuts))).toEqual(expected)
  })
})
