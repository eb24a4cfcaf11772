import type { Decoder } from "./frame.js"
import { noFrames, response, tooLarge, trimFinalNewline } from "./frame.js"
import { Utf8Decoder } from "./lineSplitter.js"

/**
 * Accumulates output; the pool calls `flush` after the framing's quiet period without output,
 * and the output so far, less one final line break, is the response. Nothing is a response
 * when nothing was printed.
 *
 * Past the cap, `TooLarge` is emitted once and output is dropped up to the next silence.
 * @internal
 */
export const makeQuietDecoder = (maxBytes: number): Decoder => {
  const utf8 = new Utf8Decoder()
  let parts: Array<string> = []
  let bytes = 0
  let skipping = false

  return {
    push(chunk) {
      bytes += chunk.length
      if (skipping) return noFrames
      if (bytes > maxBytes) {
        skipping = true
        parts = []
        return [tooLarge]
      }
      const text = utf8.write(chunk)
      if (text.length > 0) parts.push(text)
      return noFrames
    },
    flush() {
      // Bytes of a character cut short by the silence are not held back any longer.
      const rest = utf8.end()
      const wasSkipping = skipping
      const hadOutput = bytes > 0
      const text = parts.join("") + rest
      parts = []
      bytes = 0
      skipping = false
      if (wasSkipping || !hadOutput) return undefined
      return response(trimFinalNewline(text))
    }
  }
}
