import { describe, expect, it } from "@effect/vitest"
import { Duration, FastCheck as fc } from "effect"
import * as Framing from "../../../src/Framing.js"
import type { EchoState } from "../../../src/internal/framing/prompt.js"
import { makePromptDecoder, stripEcho } from "../../../src/internal/framing/prompt.js"
import { byteByByte, bytes, cutPoints, feed, lineText, splitAt, texts } from "./chunks.js"

const decoder = (framing: Framing.Prompt, maxBytes = 1000, echo: EchoState = { lastInput: undefined }) =>
  makePromptDecoder(framing, maxBytes, echo)

/** Text without ESC or BEL, so that only the sequences a test puts in are sequences. */
const plainText = lineText(8).map((text) => text.replace(/[\x1b\x07]/g, ""))

describe("prompt framing", () => {
  it("gives the banner first, then each response less its final line break", () => {
    const frames = feed(decoder(Framing.prompt(/> $/)), [bytes("Welcome\n> "), bytes("line 1\nline 2\n> ")])
    expect(texts(frames)).toEqual(["Welcome", "line 1\nline 2"])
  })

  it("matches the prompt only at the end of the output", () => {
    const d = decoder(Framing.prompt(/> $/))
    expect(d.push(bytes("a > b\n"))).toEqual([])
    expect(texts(d.push(bytes("> ")))).toEqual(["a > b"])
  })

  it("finds a prompt split across chunks", () => {
    const d = decoder(Framing.prompt(/>>> $/))
    expect(d.push(bytes("4\n>"))).toEqual([])
    expect(d.push(bytes(">"))).toEqual([])
    expect(texts(d.push(bytes("> ")))).toEqual(["4"])
  })

  it("removes ANSI escape sequences, also around and inside the prompt", () => {
    const d = decoder(Framing.prompt(/>>> $/))
    const frames = feed(d, byteByByte(bytes("\x1b[32mok\x1b[0m\r\n\x1b[1m>>>\x1b[0m \x1b[?2004h")))
    expect(texts(frames)).toEqual(["ok"])
  })

  it("strips the echoed input when asked to", () => {
    const echo: EchoState = { lastInput: "print(1)" }
    const d = decoder(Framing.prompt(/>>> $/, { stripEcho: true }), 1000, echo)
    expect(texts(d.push(bytes("print(1)\r\n1\r\n>>> ")))).toEqual(["1"])
    expect(echo.lastInput).toBeUndefined()
  })

  it("keeps the response whole when it does not start with the input, or when echo stripping is off", () => {
    const echo: EchoState = { lastInput: "1" }
    expect(texts(decoder(Framing.prompt(/>>> $/, { stripEcho: true }), 1000, echo).push(bytes("10\n>>> ")))).toEqual([
      "10"
    ])
    expect(texts(decoder(Framing.prompt(/>>> $/), 1000, { lastInput: "1" }).push(bytes("1\n2\n>>> ")))).toEqual([
      "1\n2"
    ])
  })

  it("strips a multi-line echo only when every line of it is there", () => {
    expect(stripEcho("a\r\nb\r\nout", "a\nb")).toBe("out")
    expect(stripEcho("a\r\nc\r\nout", "a\nb")).toBe("a\r\nc\r\nout")
    expect(stripEcho("ab", "a")).toBe("ab")
    expect(stripEcho("a", "a")).toBe("")
  })

  it("ends the turn with Continuation when the continuation prompt shows instead", () => {
    const d = decoder(Framing.prompt(/>>> $/, { continuation: /\.\.\. $/ }))
    expect(d.push(bytes("def f():\n... "))).toEqual([{ _tag: "Continuation", text: "def f():" }])
    expect(texts(d.push(bytes("ok\n>>> ")))).toEqual(["ok"])
  })

  it("strips the echo from a continuation's text too, and forgets the input", () => {
    const echo: EchoState = { lastInput: "if x:" }
    const d = decoder(Framing.prompt(/>>> $/, { continuation: /\.\.\. $/, stripEcho: true }), 1000, echo)
    expect(d.push(bytes("if x:\n... "))).toEqual([{ _tag: "Continuation", text: "" }])
    expect(echo.lastInput).toBeUndefined()
  })

  it("with a settle time, takes the prompt only when flushed with no output since", () => {
    const d = decoder(Framing.prompt(/> $/, { settle: "50 millis" }))
    expect(d.push(bytes("progress: 1> "))).toEqual([])
    expect(d.push(bytes("2\n> "))).toEqual([])
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "progress: 1> 2" })
    expect(d.flush?.()).toBeUndefined()
    expect(d.push(bytes("more> "))).toEqual([])
    expect(d.push(bytes("still going"))).toEqual([])
    expect(d.flush?.()).toBeUndefined()
  })

  it("with a settle time, still caps output that keeps ending in something like the prompt", () => {
    const d = decoder(Framing.prompt(/> $/, { settle: "50 millis" }), 10)
    expect(feed(d, [bytes("a> "), bytes("b> "), bytes("c> "), bytes("d> ")])).toEqual([])
    expect(d.flush?.()).toEqual({ _tag: "TooLarge" })
    expect(d.flush?.()).toBeUndefined()
    d.push(bytes("ok\n> "))
    expect(d.flush?.()).toEqual({ _tag: "Response", text: "ok" })
  })

  it("has no flush without a settle time", () => {
    expect(decoder(Framing.prompt(/> $/)).flush).toBeUndefined()
    expect(Duration.toMillis(Framing.prompt(/> $/, { settle: "50 millis" }).settle ?? Duration.zero)).toBe(50)
  })

  it("reports a response over maxBytes once and resumes after the next prompt", () => {
    const d = decoder(Framing.prompt(/> $/), 10)
    const frames = feed(d, [bytes("x".repeat(8)), bytes("x".repeat(8)), bytes("x".repeat(8)), bytes("\n> ")])
    expect(frames).toEqual([{ _tag: "TooLarge" }])
    expect(texts(d.push(bytes("small\n> ")))).toEqual(["small"])
  })

  it("counts the whole output of a turn against maxBytes, the prompt included", () => {
    // 10 bytes of text, a line break and a 2-byte prompt: 13 bytes
    expect(texts(decoder(Framing.prompt(/> $/), 13).push(bytes("é".repeat(5), "\n> ")))).toEqual(["é".repeat(5)])
    expect(texts(decoder(Framing.prompt(/> $/), 12).push(bytes("é".repeat(5), "\n> ")))).toEqual(["<TooLarge>"])
  })

  it.prop("any split of each turn's output gives the frames of the whole", {
    turns: fc.array(fc.array(lineText(12), { maxLength: 4 }), { minLength: 1, maxLength: 6 }),
    maxBytes: fc.integer({ min: 1, max: 120 }),
    cuts: fc.array(cutPoints, { minLength: 6, maxLength: 6 })
  }, ({ cuts, maxBytes, turns }) => {
    // A tool prints one prompt per turn, then waits for input: chunks never span two turns.
    // No "$" in the lines, so that no cut makes a line end look like the prompt "$ ".
    const responses = turns.map((lines) => lines.map((l) => l.replaceAll("$", "")).join("\n"))
    const outputs = responses.map((r) => bytes(r === "" ? "" : r + "\n", "$ "))
    const expected = outputs.map((out, i) =>
      out.length > maxBytes ? { _tag: "TooLarge" } : { _tag: "Response", text: responses[i] }
    )
    const framing = Framing.prompt(/\$ $/)
    expect(feed(decoder(framing, maxBytes), outputs)).toEqual(expected)
    expect(feed(decoder(framing, maxBytes), outputs.flatMap((out, i) => splitAt(out, cuts[i] ?? [])))).toEqual(expected)
  })

  it.prop("escape sequences and multi-byte characters anywhere, cut anywhere, with a small window", {
    turns: fc.array(
      fc.array(fc.oneof(plainText, fc.constantFrom("\n", "\x1b[31m", "\x1b]0;title\x07", "é", "😀")), {
        maxLength: 12
      }),
      { minLength: 1, maxLength: 5 }
    ),
    window: fc.integer({ min: 2, max: 12 }),
    cuts: fc.array(cutPoints, { minLength: 5, maxLength: 5 })
  }, ({ cuts, turns, window }) => {
    // Chunks much longer than the window; characters and escape sequences cut across chunks.
    const outputs = turns.map((pieces) => pieces.join("").replaceAll("$", "") + "\n")
    const expected = outputs.map((out) => out.replace(/\x1b\[31m|\x1b\]0;title\x07/g, "").slice(0, -1))
    const chunks = outputs.flatMap((out, i) => splitAt(bytes(out, "$ "), cuts[i] ?? []))
    expect(texts(feed(decoder(Framing.prompt(/\$ $/, { window }), 1 << 20), chunks))).toEqual(expected)
  })

  it.prop("the line break before the prompt goes, whatever the window and the cuts", {
    turns: fc.array(
      fc.record({
        text: fc.array(fc.oneof(lineText(6), fc.constantFrom("\n", "\r", "\r\n")), { maxLength: 6 }),
        end: fc.constantFrom("", "\n", "\r\n", "\n\n")
      }),
      { minLength: 1, maxLength: 5 }
    ),
    window: fc.integer({ min: 2, max: 12 }),
    cuts: fc.array(cutPoints, { minLength: 5, maxLength: 5 })
  }, ({ cuts, turns, window }) => {
    const outputs = turns.map(({ end, text }) => text.join("").replaceAll("$", "") + end)
    const expected = outputs.map((out) =>
      out.endsWith("\r\n") ? out.slice(0, -2) : out.endsWith("\n") ? out.slice(0, -1) : out
    )
    const chunks = outputs.flatMap((out, i) => splitAt(bytes(out, "$ "), cuts[i] ?? []))
    expect(texts(feed(decoder(Framing.prompt(/\$ $/, { window }), 1 << 20), chunks))).toEqual(expected)
  })
})
