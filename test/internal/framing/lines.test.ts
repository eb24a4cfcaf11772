import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import type { Frame } from "../../../src/internal/framing/frame.js"
import { makeLinesDecoder } from "../../../src/internal/framing/lines.js"
import { byteByByte, bytes, cutPoints, feed, lineText, splitAt, texts, utf8Length } from "./chunks.js"

describe("lines framing", () => {
  it("yields one response per line, without the line break or a \\r before it", () => {
    const frames = feed(makeLinesDecoder(100), [bytes("one\ntwo\r\n\nthree")])
    expect(frames).toEqual([
      { _tag: "Response", text: "one" },
      { _tag: "Response", text: "two" },
      { _tag: "Response", text: "" }
    ])
  })

  it("holds an unfinished line until its line break comes", () => {
    const decoder = makeLinesDecoder(100)
    expect(decoder.push(bytes("par"))).toEqual([])
    expect(decoder.push(bytes("tial"))).toEqual([])
    expect(decoder.push(bytes("\n"))).toEqual([{ _tag: "Response", text: "partial" }])
  })

  it("decodes a character split across chunks", () => {
    expect(texts(feed(makeLinesDecoder(100), byteByByte(bytes("héllo € 😀\n"))))).toEqual(["héllo € 😀"])
  })

  it("turns invalid UTF-8 into replacement characters instead of failing", () => {
    expect(texts(feed(makeLinesDecoder(100), [bytes("a", Uint8Array.of(0xff, 0xc3), "b\n")]))).toEqual([
      "a\uFFFD\uFFFDb"
    ])
  })

  it("accepts a line of exactly maxBytes, with or without a \\r", () => {
    const line = "é".repeat(5) // 10 bytes
    expect(texts(feed(makeLinesDecoder(10), [bytes(line, "\n", line, "\r\n")]))).toEqual([line, line])
  })

  it("reports a line over maxBytes once, however it is chunked, and goes on with the next", () => {
    const data = bytes("x".repeat(50), "\nok\n")
    for (const chunks of [[data], byteByByte(data)]) {
      expect(texts(feed(makeLinesDecoder(10), chunks))).toEqual(["<TooLarge>", "ok"])
    }
  })

  it("reports a line as too large where it ends, so the next line is the next frame", () => {
    const decoder = makeLinesDecoder(10)
    expect(decoder.push(bytes("x".repeat(11)))).toEqual([]) // may still be 10 bytes and a "\r"
    expect(decoder.push(bytes("xx"))).toEqual([])
    expect(decoder.push(bytes("x\nok\n"))).toEqual([{ _tag: "TooLarge" }, { _tag: "Response", text: "ok" }])
  })

  it("keeps no more than about maxBytes of a line that never ends", () => {
    const decoder = makeLinesDecoder(16)
    const frames = feed(decoder, Array.from({ length: 1000 }, () => bytes("y".repeat(1000))))
    expect(frames).toEqual([])
    expect(feed(decoder, [bytes("\nafter\n")])).toEqual([{ _tag: "TooLarge" }, { _tag: "Response", text: "after" }])
  })

  it.prop("any split of the stream gives the frames of the whole", {
    lines: fc.array(lineText(), { maxLength: 12 }),
    crlf: fc.boolean(),
    maxBytes: fc.integer({ min: 1, max: 60 }),
    cuts: cutPoints
  }, ({ crlf, cuts, lines, maxBytes }) => {
    const data = bytes(lines.map((l) => l + (crlf ? "\r\n" : "\n")).join(""))
    const expected: Array<Frame> = lines.map((l) =>
      utf8Length(l) > maxBytes ? { _tag: "TooLarge" } : { _tag: "Response", text: l }
    )
    expect(feed(makeLinesDecoder(maxBytes), splitAt(data, cuts))).toEqual(expected)
  })

  it.prop("a \\r inside a line stays; only the one before the line break goes, wherever the cuts fall", {
    lines: fc.array(
      fc.array(fc.oneof(lineText(4), fc.constant("\r")), { maxLength: 6 }).map((parts) => parts.join("")),
      { maxLength: 8 }
    ),
    crlf: fc.boolean(),
    cuts: cutPoints
  }, ({ crlf, cuts, lines }) => {
    const data = bytes(lines.map((l) => l + (crlf ? "\r\n" : "\n")).join(""))
    const expected = lines.map((l) => crlf || !l.endsWith("\r") ? l : l.slice(0, -1))
    expect(texts(feed(makeLinesDecoder(1000), splitAt(data, cuts)))).toEqual(expected)
  })
})
