/**
 * Splits a byte stream into lines, bounded: the line-based framings (lines, ndjson, sentinel,
 * JSON-RPC over ndjson) are built on it.
 *
 * It splits on the byte 0x0A, which never occurs inside a multi-byte UTF-8 sequence, and decodes
 * each line only once it is complete, so a character split across chunks decodes right.
 * @internal
 */
import { StringDecoder } from "node:string_decoder"

/** @internal */
export interface LineSplitterOptions {
  /** Longest line content (without "\n" and a "\r" before it) delivered, in bytes. */
  readonly maxBytes: number
  /** A complete line, without its "\n" but with a "\r" before it if there was one. */
  readonly onLine: (line: string, bytes: number) => void
  /** The current line just grew past `maxBytes`; it will not be delivered. */
  readonly onOverflow: () => void
  /**
   * The line that overflowed has ended. `tail` is its last `keepTail` bytes, decoded, with a
   * final "\r" removed: enough for the sentinel framing to see a marker at its end.
   */
  readonly onOverflowEnd?: (tail: string) => void
  readonly keepTail?: number
}

const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * Decodes UTF-8 as `TextDecoder("utf-8", { ignoreBOM: true })` does (the same replacement
 * characters for invalid input, a BOM kept), with the same `decode(bytes, { stream })` calls,
 * but on Node's own decoder: on Node 20 TextDecoder takes about 105 us per 64 KiB against
 * 17 us for StringDecoder and Buffer#toString, and large responses are decoded whole.
 * @internal
 */
export class Utf8Decoder {
  private readonly decoder = new StringDecoder("utf8")

  /** With `stream`, an unfinished character at the end is held for the next call. */
  decode(bytes?: Uint8Array, options?: { readonly stream?: boolean }): string {
    const buffer = bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (options?.stream === true) return buffer === undefined ? "" : this.decoder.write(buffer)
    return buffer === undefined ? this.decoder.end() : this.decoder.end(buffer)
  }
}

/** @internal */
export const utf8Decoder = (): Utf8Decoder => new Utf8Decoder()

/**
 * The UTF-8 bytes of `text`, as `TextEncoder#encode` gives them (lone surrogates become
 * U+FFFD in both); `Buffer.from` takes a quarter of the time for the short inputs of a turn.
 * @internal
 */
export const utf8Bytes = (text: string): Uint8Array => Buffer.from(text, "utf8")

const concat = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0]
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * Returns the function to call with every chunk, in order; lines are reported through the
 * callbacks. Memory held: at most `maxBytes + 1` bytes of an unfinished line.
 * @internal
 */
export const makeLineSplitter = (options: LineSplitterOptions): (chunk: Uint8Array) => void => {
  const { maxBytes, onLine, onOverflow } = options
  // One more byte than the tail asked for: the "\r" that may come before the "\n".
  const keepTail = options.keepTail === undefined || options.keepTail === 0 ? 0 : options.keepTail + 1
  const utf8 = utf8Decoder()
  let pending: Array<Uint8Array> = []
  let pendingBytes = 0
  let overflowing = false
  let tail: Uint8Array = new Uint8Array(0)

  const keep = (segment: Uint8Array) => {
    if (keepTail === 0) return
    const joined = concat([tail, segment], tail.length + segment.length)
    tail = joined.length > keepTail ? joined.slice(joined.length - keepTail) : joined
  }

  const endOverflow = (segment: Uint8Array) => {
    keep(segment)
    const text = utf8.decode(tail)
    tail = new Uint8Array(0)
    overflowing = false
    options.onOverflowEnd?.(text.endsWith("\r") ? text.slice(0, -1) : text)
  }

  const endLine = (segment: Uint8Array) => {
    const bytes = pendingBytes + segment.length
    const whole = pending.length === 0 ? segment : concat([...pending, segment], bytes)
    pending = []
    pendingBytes = 0
    const content = whole.length > 0 && whole[whole.length - 1] === CARRIAGE_RETURN ? bytes - 1 : bytes
    if (content > maxBytes) {
      onOverflow()
      tail = new Uint8Array(0)
      endOverflow(whole.subarray(Math.max(0, whole.length - keepTail)))
      return
    }
    onLine(utf8.decode(whole), bytes)
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
    if (overflowing) {
      keep(rest)
      return
    }
    // Kept, not copied: chunks are never written to once pushed (see `Decoder.push`).
    pending.push(rest)
    pendingBytes += rest.length
    if (pendingBytes > maxBytes + 1) {
      const held = concat(pending, pendingBytes)
      pending = []
      pendingBytes = 0
      overflowing = true
      tail = new Uint8Array(0)
      keep(held.subarray(Math.max(0, held.length - keepTail)))
      onOverflow()
    }
  }
}
