import type { Decoder } from "./frame.js"
import { makeCollector, response, skipped, tooLarge } from "./frame.js"
import { utf8Bytes, Utf8Decoder } from "./lineSplitter.js"

/** A header block longer than this is not a header: it is skipped. */
const MAX_HEADER_BYTES = 8192
const CR = 0x0d
const LF = 0x0a

/** `Content-Length: N` (N the body's length in bytes), a blank line, then the body. @internal */
export const encodeContentLength = (body: string): Uint8Array => {
  const payload = utf8Bytes(body)
  const header = utf8Bytes(`Content-Length: ${payload.length}\r\n\r\n`)
  const out = new Uint8Array(header.length + payload.length)
  out.set(header, 0)
  out.set(payload, header.length)
  return out
}

/** The length a header block announces, or why it announces none. */
const parseHeader = (block: string): number | string => {
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon === -1 || line.slice(0, colon).trim().toLowerCase() !== "content-length") continue
    const value = line.slice(colon + 1).trim()
    return /^\d{1,15}$/.test(value) ? Number(value) : `not a valid Content-Length: ${value}`
  }
  return "no Content-Length header"
}

/**
 * A message, as the framing reports it: `onMessage` gets the body, decoded as UTF-8 once it
 * is complete (so a character may be split anywhere in the stream).
 * @internal
 */
export interface ContentLengthSink {
  readonly onMessage: (body: string) => void
  /** `head`: the body's first `keepHead` bytes, decoded (empty unless asked for). */
  readonly onTooLarge: (head: string) => void
  readonly onSkipped: (text: string, reason: string) => void
}

/**
 * Reads `Content-Length` framed messages byte-exactly. Headers other than Content-Length are
 * ignored, and so are lines in the header block that are no headers (a stray log line).
 *
 * A body larger than the cap is reported `TooLarge` as soon as its header is read, and its
 * bytes are counted off without being kept: the next message is read normally. With `keepHead`,
 * it is reported once that many of its first bytes are read, with them. A header block with no
 * valid length is reported `Skipped`; one longer than 8 KiB is dropped up to its end.
 * @internal
 */
export const makeContentLengthReader = (
  maxBytes: number,
  sink: ContentLengthSink,
  keepHead = 0
): (chunk: Uint8Array) => void => {
  const utf8 = new Utf8Decoder()
  const header = new Uint8Array(MAX_HEADER_BYTES)
  let headerLength = 0
  // Set while a header block overflowed: the last bytes seen, to find its end.
  let junk: number | undefined
  let body: Uint8Array | undefined
  let filled = 0
  let skipBytes = 0
  // The start of a body too large to keep, while it is being read.
  let head: Uint8Array | undefined
  let headFilled = 0

  // Whether the byte just added ends a header block: "\r\n\r\n" (the first "\r\n" may be the
  // whole block when messages are separated by blank lines, which is then ignored).
  const endsBlock = (): boolean =>
    headerLength >= 4 && header[headerLength - 1] === LF && header[headerLength - 2] === CR &&
    header[headerLength - 3] === LF && header[headerLength - 4] === CR

  const readHeaderByte = (byte: number) => {
    if (junk !== undefined) {
      // Track the last four bytes in `junk` to find the "\r\n\r\n" that ends the block.
      junk = ((junk << 8) | byte) >>> 0
      if (junk === 0x0d0a0d0a) junk = undefined
      return
    }
    if (headerLength === 0 && (byte === CR || byte === LF)) return
    if (headerLength === MAX_HEADER_BYTES) {
      sink.onSkipped(utf8.end(header.subarray(0, 200)), `header block longer than ${MAX_HEADER_BYTES} bytes`)
      headerLength = 0
      junk = byte
      return
    }
    header[headerLength++] = byte
    if (!endsBlock()) return
    const block = utf8.end(header.subarray(0, headerLength - 4))
    headerLength = 0
    const length = parseHeader(block)
    if (typeof length === "string") return sink.onSkipped(block, length)
    if (length > maxBytes) {
      if (keepHead === 0) sink.onTooLarge("")
      else head = new Uint8Array(Math.min(keepHead, length))
      headFilled = 0
      skipBytes = length
    } else if (length === 0) {
      sink.onMessage("")
    } else {
      body = new Uint8Array(length)
      filled = 0
    }
  }

  return (chunk) => {
    let offset = 0
    while (offset < chunk.length) {
      if (skipBytes > 0) {
        const n = Math.min(skipBytes, chunk.length - offset)
        if (head !== undefined) {
          const kept = Math.min(head.length - headFilled, n)
          head.set(chunk.subarray(offset, offset + kept), headFilled)
          headFilled += kept
          if (headFilled === head.length) {
            // full at the latest with the body's last byte
            sink.onTooLarge(utf8.end(head))
            head = undefined
          }
        }
        skipBytes -= n
        offset += n
      } else if (body !== undefined) {
        const n = Math.min(body.length - filled, chunk.length - offset)
        body.set(chunk.subarray(offset, offset + n), filled)
        filled += n
        offset += n
        if (filled === body.length) {
          const text = utf8.end(body)
          body = undefined
          sink.onMessage(text)
        }
      } else {
        readHeaderByte(chunk[offset] ?? 0)
        offset++
      }
    }
  }
}

/**
 * `Content-Length` framing: each message's body is a `Response`.
 * @internal
 */
export const makeContentLengthDecoder = (maxBytes: number): Decoder => {
  const frames = makeCollector()
  const read = makeContentLengthReader(maxBytes, {
    onMessage: (body) => frames.emit(response(body)),
    onTooLarge: () => frames.emit(tooLarge),
    onSkipped: (text, reason) => frames.emit(skipped(text, reason))
  })
  return {
    push(chunk) {
      read(chunk)
      return frames.take()
    }
  }
}
