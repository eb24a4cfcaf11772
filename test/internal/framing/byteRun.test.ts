import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { StringDecoder } from "node:string_decoder"
import { ByteRun, unfinishedAt } from "../../../src/internal/framing/byteRun.js"
import { cutPoints, splitAt } from "./chunks.js"

const run = (pieces: ReadonlyArray<Uint8Array>): ByteRun => {
  const bytes = new ByteRun()
  for (const piece of pieces) bytes.append(piece)
  return bytes
}

describe("ByteRun", () => {
  it.prop("decodes its pieces as the whole would be decoded, however they were cut", {
    text: fc.string({ unit: "binary", maxLength: 40 }),
    // long ASCII runs take the Latin-1 path; anything else UTF-8
    filler: fc.constantFrom(0, 5000),
    cuts: cutPoints
  }, ({ cuts, filler, text }) => {
    const whole = Buffer.from("a".repeat(filler) + text)
    const bytes = run(splitAt(whole, cuts))
    expect(bytes.size).toBe(whole.length)
    expect(bytes.take()).toBe(whole.toString("utf8"))
    expect(bytes.size).toBe(0)
    expect(bytes.take()).toBe("")
  })

  it.prop("holds back the start of a character cut at the end, as a streaming decoder does", {
    text: fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
    at: fc.nat(),
    cuts: cutPoints
  }, ({ at, cuts, text }) => {
    const whole = Buffer.from(text)
    const cut = whole.subarray(0, at % (whole.length + 1))
    const bytes = run(splitAt(cut, cuts))
    const held = bytes.unfinished()
    expect(held).toBe(unfinishedAt(cut, cut.length))
    // what a streaming decoder gives for the same bytes, and holds back for the next ones
    expect(bytes.take(held)).toBe(new StringDecoder("utf8").write(cut))
  })

  it("keeps a long non-ASCII run exact", () => {
    const text = "x".repeat(70_000) + "é" + "y".repeat(70_000)
    const whole = Buffer.from(text)
    expect(run(splitAt(whole, [65_536, 70_000, 70_001])).take()).toBe(text)
  })
})
