/**
 * Feeding decoders: bytes from text, a byte stream cut at given points, and the frames that
 * come out. Shared by the framing tests.
 */
import { FastCheck as fc } from "effect"
import type { Decoder, Frame } from "../../../src/internal/framing/frame.js"

const encoder = new TextEncoder()

export const bytes = (...parts: ReadonlyArray<string | Uint8Array>): Uint8Array => {
  const encoded = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p)
  const out = new Uint8Array(encoded.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of encoded) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export const utf8Length = (text: string): number => encoder.encode(text).length

/** `data` cut at `points` (taken modulo its length, sorted, duplicates ignored). */
export const splitAt = (data: Uint8Array, points: ReadonlyArray<number>): Array<Uint8Array> => {
  const cuts = [...new Set(points.map((p) => data.length === 0 ? 0 : p % (data.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const cut of cuts) {
    if (cut <= start) continue
    chunks.push(data.slice(start, cut))
    start = cut
  }
  if (start < data.length) chunks.push(data.slice(start))
  return chunks
}

/** Every byte a chunk of its own. */
export const byteByByte = (data: Uint8Array): Array<Uint8Array> => Array.from(data, (b) => Uint8Array.of(b))

export const feed = (decoder: Decoder, chunks: Iterable<Uint8Array>): Array<Frame> => {
  const frames: Array<Frame> = []
  for (const chunk of chunks) frames.push(...decoder.push(chunk))
  return frames
}

/** Cut points for `splitAt`: up to 40 of them, anywhere. */
export const cutPoints = fc.array(fc.nat({ max: 1 << 20 }), { maxLength: 40 })

/** Text with no line break, from the whole Unicode range (so multi-byte characters abound). */
export const lineText = (maxLength = 30) =>
  fc.string({ unit: "binary", maxLength }).map((s) => s.replace(/[\r\n]/g, ""))

export const texts = (frames: ReadonlyArray<Frame>): Array<string> =>
  frames.map((f) => "text" in f ? f.text : `<${f._tag}>`)
