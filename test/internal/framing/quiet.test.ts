import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { makeQuietDecoder } from "../../../src/internal/framing/quiet.js"
import { byteByByte, bytes, cutPoints, feed, splitAt } from "./chunks.js"

describe("quiet framing", () => {
  it("emits nothing on push; flush ends the response with what came so far", () => {
    const d = makeQuietDecoder(100)
    expect(feed(d, [bytes("thinking...\n"), bytes("done\n")])).toEqual([])
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "thinking...\ndone" })
  })

  it("has no response to give when nothing was printed", () => {
    const d = makeQuietDecoder(100)
    expect(d.flush?.()).toBeUndefined()
    d.push(bytes("x"))
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "x" })
    expect(d.flush?.()).toBeUndefined()
  })

  it("decodes characters split across chunks", () => {
    const d = makeQuietDecoder(100)
    feed(d, byteByByte(bytes("é€😀")))
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "é€😀" })
  })

  it("reports output over maxBytes once, drops it up to the silence, and starts afresh", () => {
    const d = makeQuietDecoder(10)
    expect(feed(d, [bytes("0123456789"), bytes("a"), bytes("b")])).toEqual([{ _tag: "TooLarge" }])
    expect(d.flush?.()).toBeUndefined()
    d.push(bytes("0123456789"))
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "0123456789" })
  })

  it.prop("any split of the output gives the same response", {
    text: fc.string({ unit: "binary", maxLength: 40 }),
    cuts: cutPoints
  }, ({ cuts, text }) => {
    const whole = makeQuietDecoder(1000)
    whole.push(bytes(text))
    const split = makeQuietDecoder(1000)
    feed(split, splitAt(bytes(text), cuts))
    const expected = whole.flush?.()
    expect(split.flush?.()).toEqual(expected)
    expect(expected).toEqual(text === "" ? undefined : { _tag: "Response", text: text.replace(/\r?\n$/, "") })
  })
})
