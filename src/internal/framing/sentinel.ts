import type { Sentinel } from "../../Framing.js"
import type { Decoder } from "./frame.js"
import { makeCollector, response, stripCarriageReturn, tooLarge } from "./frame.js"
import { makeLineSplitter, utf8Bytes } from "./lineSplitter.js"

/** The command that makes the tool print the marker, as text. @internal */
export const sentinelCommand = (framing: Sentinel): string =>
  typeof framing.command === "function"
    ? framing.command(framing.marker)
    : framing.command.replaceAll("{marker}", framing.marker)

/** The line of input, then the marker command on a line of its own. @internal */
export const encodeSentinel = (framing: Sentinel, input: string): Uint8Array => {
  const command = sentinelCommand(framing)
  return utf8Bytes(
    (input.endsWith("\n") ? input : input + "\n") + (command.endsWith("\n") ? command : command + "\n")
  )
}

/**
 * Reads up to the line that ends with the marker. The response is the lines before it, joined by
 * "\n" exactly as they came (a "\r" before a "\n" is kept, except on the last line), plus
 * whatever the marker line held before the marker: a tool whose last output had no final line
 * break prints the marker right after it.
 *
 * The cap counts the bytes before the marker as they came, less the final line break. Past it,
 * `TooLarge` is emitted once and output is dropped up to the marker. Only the last
 * few bytes of a line too long to keep are held, which is enough to see the marker at its end.
 * @internal
 */
export const makeSentinelDecoder = (framing: Sentinel, maxBytes: number): Decoder => {
  const { marker } = framing
  const frames = makeCollector()
  let lines: Array<string> = []
  let bytes = 0
  let skipping = false

  const finish = (before: string) => {
    if (!skipping) {
      if (before !== "") {
        bytes += (lines.length === 0 ? 0 : 1) + Buffer.byteLength(before)
        lines.push(before)
      }
      const joined = lines.join("\n")
      const text = stripCarriageReturn(joined)
      frames.emit(bytes - (joined.length - text.length) > maxBytes ? tooLarge : response(text))
    }
    skipping = false
    lines = []
    bytes = 0
  }

  const overflow = () => {
    if (!skipping) frames.emit(tooLarge)
    skipping = true
    lines = []
    bytes = 0
  }

  const markerBytes = Buffer.byteLength(marker)
  const split = makeLineSplitter({
    // Room for a full response line with the marker after it; longer lines are over the cap anyway.
    maxBytes: maxBytes + markerBytes,
    keepTail: markerBytes,
    onLine: (raw, lineBytes) => {
      const line = stripCarriageReturn(raw)
      if (line.endsWith(marker)) return finish(line.slice(0, line.length - marker.length))
      if (skipping) return
      bytes += (lines.length === 0 ? 0 : 1) + lineBytes
      // As if this line were the last, whose "\r" the response does not keep.
      if (bytes - (raw.length - line.length) > maxBytes) return overflow()
      lines.push(raw)
    },
    onOverflow: overflow,
    onOverflowEnd: (tail) => {
      // The line was too long to keep: its response is too large whatever else it held.
      if (tail.endsWith(marker)) finish("")
    }
  })

  return {
    push(chunk) {
      split(chunk)
      return frames.take()
    }
  }
}
