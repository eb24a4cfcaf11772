import type { Decoder, Frame } from "./frame.js"
import { noFrames, response, tooLarge } from "./frame.js"

/**
 * Splits the output on "\n" (dropping a "\r" before it). A line longer than
 * `maxBytes` yields one `TooLarge` frame and is skipped up to its end.
 * @internal
 */
export const makeLinesDecoder = (maxBytes: number): Decoder => {
  const utf8 = new TextDecoder("utf-8")
  let pending = ""
  let pendingBytes = 0
  let skipping = false

  return {
    push(chunk) {
      const text = utf8.decode(chunk, { stream: true })
      let newline = text.indexOf("\n")
      if (newline === -1) {
        if (skipping) return noFrames
        pendingBytes += chunk.length
        if (pendingBytes > maxBytes) {
          pending = ""
          pendingBytes = 0
          skipping = true
          return [tooLarge]
        }
        pending += text
        return noFrames
      }
      const frames: Array<Frame> = []
      let start = 0
      while (newline !== -1) {
        if (skipping) {
          skipping = false
        } else {
          let line = pending + text.slice(start, newline)
          if (line.endsWith("\r")) line = line.slice(0, -1)
          frames.push(Buffer.byteLength(line) > maxBytes ? tooLarge : response(line))
        }
        pending = ""
        start = newline + 1
        newline = text.indexOf("\n", start)
      }
      pending = text.slice(start)
      pendingBytes = Buffer.byteLength(pending)
      if (pendingBytes > maxBytes) {
        pending = ""
        pendingBytes = 0
        skipping = true
        frames.push(tooLarge)
      }
      return frames
    }
  }
}
