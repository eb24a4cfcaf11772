import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { ByteRing } from "../../../src/internal/output/ring.js"

const encoder = new TextEncoder()

describe("ByteRing", () => {
  it("keeps the last capacity bytes of whatever was pushed, however it was cut", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 30 }),
        (capacity, chunks) => {
          const ring = new ByteRing(capacity)
          for (const chunk of chunks) ring.push(chunk)
          const all = Buffer.concat(chunks)
          const expected = all.subarray(Math.max(0, all.length - capacity))
          let start = 0
          while (start < expected.length && start < 3 && ((expected[start] ?? 0) & 0xc0) === 0x80) start++
          expect(ring.text()).toBe(expected.subarray(start).toString("utf8"))
        }
      )
    ))

  it("drops a character cut at the front instead of showing U+FFFD", () => {
    const ring = new ByteRing(4)
    ring.push(encoder.encode("ab€cd")) // € is 3 bytes: the last 4 bytes cut it
    expect(ring.text()).toBe("cd")
  })

  it("keeps nothing with capacity 0", () => {
    const ring = new ByteRing(0)
    ring.push(encoder.encode("hello"))
    expect(ring.text()).toBe("")
  })
})
