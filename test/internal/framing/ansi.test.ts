import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { makeAnsiStripper, stripAnsi } from "../../../src/internal/framing/ansi.js"

const sequences = [
  "\x1b[0m",
  "\x1b[1;32m",
  "\x1b[?2004h",
  "\x1b[2K",
  "\x1b]0;window title\x07",
  "\x1b]8;;https://example.com\x1b\\",
  "\x1b(B",
  "\x1b=",
  "\x1bP1$r0m\x1b\\"
]

describe("ANSI stripping", () => {
  it("removes colours, cursor and mode switches, titles and charset designators", () => {
    expect(stripAnsi("\x1b[1;32mgreen\x1b[0m \x1b]0;title\x07plain\x1b(B \x1b[?2004h>>> ")).toBe("green plain >>> ")
  })

  it("leaves text without escapes as it is, line breaks and tabs included", () => {
    expect(stripAnsi("a\tb\r\nc\x07")).toBe("a\tb\r\nc\x07")
  })

  it("removes a sequence split between pieces", () => {
    const stripper = makeAnsiStripper()
    expect([
      stripper.strip("red: \x1b["),
      stripper.strip("31"),
      stripper.strip("mR\x1b]0;ti"),
      stripper.strip("tle\x07!")
    ])
      .toEqual(["red: ", "", "R", "!"])
  })

  it.prop("stripping in pieces equals stripping the whole", {
    pieces: fc.array(fc.oneof(fc.constantFrom(...sequences), fc.string({ maxLength: 8 })), { maxLength: 20 }),
    cuts: fc.array(fc.nat(), { maxLength: 10 })
  }, ({ cuts, pieces }) => {
    const whole = pieces.join("")
    const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b)
    const stripper = makeAnsiStripper()
    let out = ""
    let start = 0
    for (const point of [...points, whole.length]) {
      out += stripper.strip(whole.slice(start, point))
      start = Math.max(start, point)
    }
    expect(out).toBe(stripAnsi(whole))
    expect(out).not.toContain("\x1b[")
  })
})
