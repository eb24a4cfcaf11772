import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Framing from "../../../src/Framing.js"
import type { Frame } from "../../../src/internal/framing/frame.js"
import { encodeSentinel, makeSentinelDecoder } from "../../../src/internal/framing/sentinel.js"
import { byteByByte, bytes, cutPoints, feed, lineText, splitAt, texts, utf8Length } from "./chunks.js"

const marker = "__toolpool_0123456789abcdef__"
const bc = Framing.sentinel({ command: (m) => `print "${m}\\n"`, marker })

describe("sentinel framing", () => {
  it("writes the input, then the command that prints the marker", () => {
    expect(new TextDecoder().decode(encodeSentinel(bc, "2+2"))).toBe(`2+2\nprint "${marker}\\n"\n`)
    const sqlite = Framing.sentinel({ command: ".print {marker}", marker })
    expect(new TextDecoder().decode(encodeSentinel(sqlite, "select 1;\n"))).toBe(`select 1;\n.print ${marker}\n`)
  })

  it("reads up to the marker line; the response is the lines before it", () => {
    const frames = feed(makeSentinelDecoder(bc, 1000), [bytes(`4\n${marker}\nline 1\r\nline 2\r\n${marker}\r\n`)])
    expect(texts(frames)).toEqual(["4", "line 1\r\nline 2"])
  })

  it("gives an empty response for a request with no output", () => {
    expect(feed(makeSentinelDecoder(bc, 1000), [bytes(`${marker}\n`)])).toEqual([{ _tag: "Response", text: "" }])
  })

  it("finds the marker right after output that had no final line break", () => {
    expect(texts(feed(makeSentinelDecoder(bc, 1000), [bytes(`a\nno newline${marker}\n`)]))).toEqual(["a\nno newline"])
  })

  it("does not end at a line that merely contains the marker", () => {
    const d = makeSentinelDecoder(bc, 1000)
    expect(d.push(bytes(`${marker} and more\n`))).toEqual([])
    expect(texts(d.push(bytes(`${marker}\n`)))).toEqual([`${marker} and more`])
  })

  it("decodes characters and the marker split across chunks", () => {
    expect(texts(feed(makeSentinelDecoder(bc, 1000), byteByByte(bytes(`€ 😀\n${marker}\n`))))).toEqual(["€ 😀"])
  })

  it("reports a response over maxBytes once and resumes after the marker", () => {
    const d = makeSentinelDecoder(bc, 10)
    const frames = feed(d, [bytes("0123456\n0123456\n0123456\n"), bytes(`${marker}\nok\n${marker}\n`)])
    expect(texts(frames)).toEqual(["<TooLarge>", "ok"])
  })

  it("sees the marker at the end of a line too long to keep", () => {
    const frames = feed(makeSentinelDecoder(bc, 10), [
      ...byteByByte(bytes("x".repeat(50))),
      bytes(`${marker}\nok\n${marker}\n`)
    ])
    expect(texts(frames)).toEqual(["<TooLarge>", "ok"])
  })

  it("generates a different marker for each framing made without one", () => {
    const a = Framing.sentinel({ command: ".print {marker}" }).marker
    const b = Framing.sentinel({ command: ".print {marker}" }).marker
    expect(a).toMatch(/^__toolpool_[0-9a-f]{16}__$/)
    expect(a).not.toBe(b)
  })

  it.prop("any split of the stream gives the frames of the whole", {
    responses: fc.array(fc.array(lineText(12), { maxLength: 4 }), { maxLength: 6 }),
    crlf: fc.boolean(),
    maxBytes: fc.integer({ min: 1, max: 120 }),
    cuts: cutPoints
  }, ({ crlf, cuts, maxBytes, responses }) => {
    const eol = crlf ? "\r\n" : "\n"
    const data = bytes(responses.map((lines) => lines.map((l) => l + eol).join("") + marker + eol).join(""))
    const expected: Array<Frame> = responses.map((lines) => {
      const text = lines.join(eol)
      return utf8Length(text) > maxBytes ? { _tag: "TooLarge" } : { _tag: "Response", text }
    })
    expect(feed(makeSentinelDecoder(bc, maxBytes), splitAt(data, cuts))).toEqual(expected)
  })
})
