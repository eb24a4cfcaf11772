/**
 * The bytes of one unfinished response (or line), kept as the chunks came and decoded once, at
 * its end: joined into one buffer, then decoded in one call, as Latin-1 (a plain copy) when
 * every byte is ASCII, which is then the same text, else as UTF-8. A response inside a single
 * chunk is decoded from it directly.
 *
 * Why not decode each chunk as it comes and join the texts, as before: V8 keeps `a + b` as a
 * rope of the pieces, and the first read of the joined text copies them into one piece anyway;
 * the 64 KiB text pieces of a long response also fill the young generation, whose collections
 * copy them again. `bench/README.md` has the figures before and after.
 * @internal
 */
import { isAscii } from "node:buffer"

/** Below this many bytes, checking for ASCII costs more than it saves. */
const ASCII_CHECK_BYTES = 4096

/** @internal */
export class ByteRun {
  /** The pieces, not copied (a chunk from a pipe is never written again). */
  private pieces: Array<Uint8Array> = []
  private length = 0

  get size(): number {
    return this.length
  }

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    this.pieces.push(bytes)
    this.length += bytes.length
  }

  /** The last byte, if any. */
  last(): number | undefined {
    const piece = this.pieces[this.pieces.length - 1]
    return piece === undefined ? undefined : piece[piece.length - 1]
  }

  /**
   * How many bytes at the end are the start of a character still to come, as a streaming
   * UTF-8 decoder would hold them back (Node's `StringDecoder` rules).
   */
  unfinished(): number {
    const piece = this.pieces[this.pieces.length - 1]
    if (piece === undefined) return 0
    if (piece.length >= 3 || this.pieces.length === 1) return unfinishedAt(piece, piece.length)
    const end = this.whole()
    return unfinishedAt(end, end.length)
  }

  /** The text of all but the last `keep` bytes; the run is empty afterwards. */
  take(keep = 0): string {
    const end = this.length - keep
    if (end <= 0) {
      this.clear()
      return ""
    }
    const bytes = this.whole()
    this.clear()
    // (with bytes kept back, the last ones are not ASCII)
    const ascii = keep === 0 && end >= ASCII_CHECK_BYTES && isAscii(bytes)
    return bytes.toString(ascii ? "latin1" : "utf8", 0, end)
  }

  clear(): void {
    this.pieces = []
    this.length = 0
  }

  /** The pieces as one buffer: the only one as it is, else joined (one copy). */
  private whole(): Buffer {
    if (this.pieces.length === 1) return asBuffer(this.pieces[0] as Uint8Array)
    const joined = Buffer.concat(this.pieces, this.length)
    this.pieces = [joined]
    return joined
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The text of the first `end` bytes (all by default), decoded as UTF-8. @internal */
export const decodeUtf8 = (bytes: Uint8Array, end = bytes.length): string => asBuffer(bytes).toString("utf8", 0, end)

/**
 * How many of the first `end` bytes, counted back from it, start a UTF-8 character that is not
 * complete yet: 0 to 3.
 * @internal
 */
export const unfinishedAt = (bytes: Uint8Array, end: number): number => {
  for (let back = 1; back <= 3 && back <= end; back++) {
    const byte = bytes[end - back] as number
    if ((byte & 0xc0) === 0x80) continue
    const needs = (byte & 0xe0) === 0xc0 ? 2 : (byte & 0xf0) === 0xe0 ? 3 : (byte & 0xf8) === 0xf0 ? 4 : 1
    return needs > back ? back : 0
  }
  return 0
}
