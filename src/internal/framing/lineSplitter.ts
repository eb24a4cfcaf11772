/**
 * Splits a byte stream into lines, bounded: the line-based framings (lines, ndjson, sentinel,
 * JSON-RPC over ndjson) are built on it.
 *
 * It splits on the byte 0x0A, which never occurs inside a multi-byte UTF-8 sequence.
 * @internal
 */
import { StringDecoder } from "node:string_decoder"

/** @internal */
export interface LineSplitterOptions {
  /** Longest line content (without "\n" and a "\r" before it) delivered, in bytes. */
  readonly maxBytes: number
  /**
   * A complete line, without its "\n"; a "\r" before it is kept unless `dropCarriageReturn`.
   * `bytes` counts the bytes of the line as delivered.
   */
  readonly onLine: (line: string, bytes: number) => void
  /**
   * The current line just grew past `maxBytes`; it will not be delivered. `head` is its first
   * `keepHead` characters (empty unless asked for): enough for JSON-RPC to find a message's id.
   */
  readonly onOverflow: (head: string) => void
  readonly keepHead?: number
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
const CR_BYTE = Buffer.from([CR])

/**
 * Returns the function to call with every chunk, in order; lines are reported through the
 * callbacks. An unfinished line is decoded chunk by chunk as it comes (a character split
 * across chunks is held by the decoder until its last byte arrives), so that a long response
 * is mostly decoded while the tool is still writing it, instead of all at once at its end.
 * A line is delivered as V8 joined its pieces: nothing here reads it whole (`endsWith` on a
 * joined string copies it into one piece first: about 5 ms for 8 MiB on this kind of machine).
 * Memory held: the decoded text of at most `maxBytes + 1` bytes of an unfinished line.
 * @internal
 */
export const makeLineSplitter = (options: LineSplitterOptions): (chunk: Uint8Array) => void => {
  const { maxBytes, onLine, onOverflow } = options
  const keepHead = options.keepHead ?? 0
  const dropCarriageReturn = options.dropCarriageReturn === true
  // One more byte than the tail asked for: the "\r" that may come before the "\n".
  const keepTail = options.keepTail === undefined || options.keepTail === 0 ? 0 : options.keepTail + 1
  const utf8 = new Utf8Decoder()
  // The current line: its text decoded so far, its length in bytes, its last `keepTail` bytes.
  let text = ""
  let bytes = 0
  let tail: Uint8Array = EMPTY
  let overflowing = false
  // The line's last byte so far is a "\r", not decoded yet: whether it ends the line is only
  // known with the next byte, and it is easier to drop while it is still a byte.
  let heldCarriageReturn = false

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

  /** Decodes a "\r" held back, now that more of the line came. */
  const releaseCarriageReturn = () => {
    if (!heldCarriageReturn) return
    heldCarriageReturn = false
    text += utf8.write(CR_BYTE)
  }

  const endOverflow = (segment: Uint8Array) => {
    keep(segment)
    const end = utf8.end(tail)
    tail = EMPTY
    overflowing = false
    options.onOverflowEnd?.(end.endsWith("\r") ? end.slice(0, -1) : end)
  }

  const endLine = (segment: Uint8Array) => {
    keep(segment)
    const total = bytes + segment.length
    let carriageReturn = heldCarriageReturn
    let last: Uint8Array = carriageReturn && !dropCarriageReturn ? CR_BYTE : EMPTY
    heldCarriageReturn = false
    if (segment.length > 0) {
      if (carriageReturn) text += utf8.write(CR_BYTE)
      carriageReturn = segment[segment.length - 1] === CR
      last = carriageReturn && dropCarriageReturn ? segment.subarray(0, segment.length - 1) : segment
    }
    // Ending the decoder replaces an unfinished character at the line's end, as decoding the
    // line whole would.
    const line = text + utf8.end(last)
    text = ""
    bytes = 0
    const content = carriageReturn ? total - 1 : total
    if (content > maxBytes) {
      onOverflow(line.slice(0, keepHead))
      endOverflow(EMPTY)
      return
    }
    tail = EMPTY
    onLine(line, carriageReturn && dropCarriageReturn ? total - 1 : total)
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
    bytes += rest.length
    if (bytes > maxBytes + 1) {
      let head = ""
      if (keepHead > 0) {
        releaseCarriageReturn()
        // a character takes at most 4 bytes
        head = (text.length >= keepHead ? text : text + utf8.write(rest.subarray(0, keepHead * 4))).slice(0, keepHead)
      }
      text = ""
      bytes = 0
      heldCarriageReturn = false
      utf8.end()
      overflowing = true
      onOverflow(head)
      return
    }
    releaseCarriageReturn()
    heldCarriageReturn = rest[rest.length - 1] === CR
    text += utf8.write(heldCarriageReturn ? rest.subarray(0, rest.length - 1) : rest)
  }
}
