/**
 * Splits a byte stream into lines, bounded: the line-based framings (lines, ndjson, sentinel,
 * JSON-RPC over ndjson) are built on it.
 *
 * It splits on the byte 0x0A, which never occurs inside a multi-byte UTF-8 sequence.
 * @internal
 */
import { StringDecoder } from "node:string_decoder"
import { ByteRun, decodeUtf8 } from "./byteRun.js"

/** @internal */
export interface LineSplitterOptions {
  /** Longest line content (without "\n" and a "\r" before it) delivered, in bytes. */
  readonly maxBytes: number
  /**
   * A complete line, without its "\n"; a "\r" before it is kept unless `dropCarriageReturn`.
   * `bytes` counts the bytes of the line as delivered.
   */
  readonly onLine: (line: string, bytes: number) => void
  /** The current line just grew past `maxBytes`; it will not be delivered. */
  readonly onOverflow: () => void
  /**
   * The line that overflowed has ended. `tail` is its last `keepTail` bytes, decoded, with a
   * final "\r" removed: enough for the sentinel framing to see a marker at its end.
   */
  readonly onOverflowEnd?: (tail: string) => void
  readonly keepTail?: number
  /** Deliver lines without the "\r" of a "\r\n" (without reading the whole line to find it). */
  readonly dropCarriageReturn?: boolean
}

const NEWLINE = 0x0a

/**
 * Decodes UTF-8 as `TextDecoder("utf-8", { ignoreBOM: true })` does (the same replacement
 * characters for invalid input, a BOM kept), but on Node's own decoder: on Node 20 TextDecoder
 * takes about 105 us per 64 KiB against 17 us for StringDecoder and Buffer#toString, and large
 * responses are decoded whole. `write` holds an unfinished character at the end for the next
 * call, as `decode(bytes, { stream: true })` does; `end` finishes it (and any bytes given).
 * @internal
 */
export class Utf8Decoder {
  private readonly decoder = new StringDecoder("utf8")

  write(bytes: Uint8Array): string {
    return this.decoder.write(asBuffer(bytes))
  }

  end(bytes?: Uint8Array): string {
    return bytes === undefined ? this.decoder.end() : this.decoder.end(asBuffer(bytes))
  }
}

/** Output from a pipe is a Buffer already; wrapping it again would cost an allocation per chunk. */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/**
 * The UTF-8 bytes of `text`, as `TextEncoder#encode` gives them (lone surrogates become
 * U+FFFD in both); `Buffer.from` takes a quarter of the time for the short inputs of a turn.
 * @internal
 */
export const utf8Bytes = (text: string): Uint8Array => Buffer.from(text, "utf8")

const EMPTY: Uint8Array = Buffer.alloc(0)
const CR = 0x0d

/**
 * Returns the function to call with every chunk, in order; lines are reported through the
 * callbacks. A line inside one chunk is decoded from it directly; the bytes of a line that
 * spans chunks are collected as they come and decoded once, when it ends (`byteRun.ts` says
 * why). Memory held: at most `maxBytes + 1` bytes of an unfinished line (in a buffer of at most
 * twice that).
 * @internal
 */
export const makeLineSplitter = (options: LineSplitterOptions): (chunk: Uint8Array) => void => {
  const { maxBytes, onLine, onOverflow } = options
  const dropCarriageReturn = options.dropCarriageReturn === true
  // One more byte than the tail asked for: the "\r" that may come before the "\n".
  const keepTail = options.keepTail === undefined || options.keepTail === 0 ? 0 : options.keepTail + 1
  // The current line's bytes from earlier chunks, and its last `keepTail` bytes.
  const line = new ByteRun()
  let tail: Uint8Array = EMPTY
  let overflowing = false

  const keep = (segment: Uint8Array) => {
    if (keepTail === 0 || segment.length === 0) return
    if (segment.length >= keepTail) {
      tail = segment.slice(segment.length - keepTail)
      return
    }
    const joined = new Uint8Array(tail.length + segment.length)
    joined.set(tail)
    joined.set(segment, tail.length)
    tail = joined.length > keepTail ? joined.slice(joined.length - keepTail) : joined
  }

  const endOverflow = (segment: Uint8Array) => {
    keep(segment)
    const end = decodeUtf8(tail)
    tail = EMPTY
    overflowing = false
    options.onOverflowEnd?.(end.endsWith("\r") ? end.slice(0, -1) : end)
  }

  const endLine = (segment: Uint8Array) => {
    keep(segment)
    const total = line.size + segment.length
    const carriageReturn = (segment.length > 0 ? segment[segment.length - 1] : line.last()) === CR
    if ((carriageReturn ? total - 1 : total) > maxBytes) {
      line.clear()
      onOverflow()
      endOverflow(EMPTY)
      return
    }
    tail = EMPTY
    const drop = carriageReturn && dropCarriageReturn ? 1 : 0
    let text: string
    if (line.size === 0) {
      text = decodeUtf8(segment, segment.length - drop)
    } else {
      line.append(segment)
      text = line.take(drop)
    }
    onLine(text, total - drop)
  }

  return (chunk) => {
    let start = 0
    let newline = chunk.indexOf(NEWLINE)
    while (newline !== -1) {
      const segment = chunk.subarray(start, newline)
      if (overflowing) endOverflow(segment)
      else endLine(segment)
      start = newline + 1
      newline = chunk.indexOf(NEWLINE, start)
    }
    if (start === chunk.length) return
    const rest = chunk.subarray(start)
    keep(rest)
    if (overflowing) return
    if (line.size + rest.length > maxBytes + 1) {
      line.clear()
      overflowing = true
      onOverflow()
      return
    }
    line.append(rest)
  }
}
