import type { Decoder, Frame } from "./frame.js"
import { noFrames, response, tooLarge, trimFinalNewline } from "./frame.js"

/**
 * Expect-style decoding: output accumulates until the prompt pattern matches at its very
 * end (only the last `window` characters are tried, so a long response costs no rescans).
 * The text before the prompt, less its final line break, is the response.
 * The first frame is what the tool printed before its first prompt (its banner).
 * @internal
 */
export const makePromptDecoder = (options: {
  readonly pattern: string
  readonly flags: string
  readonly window: number
  readonly maxBytes: number
}): Decoder => {
  const atEnd = new RegExp(`(?:${options.pattern})$`, options.flags)
  const utf8 = new TextDecoder("utf-8")
  let parts: Array<string> = []
  let bytes = 0
  let skipping = false
  // The last `window` characters seen, kept apart from `parts` so that a match is cheap.
  let tail = ""

  const matchTail = (): RegExpExecArray | null => atEnd.exec(tail)

  return {
    push(chunk) {
      const text = utf8.decode(chunk, { stream: true })
      if (text.length === 0) return noFrames
      tail = tail.length + text.length <= options.window
        ? tail + text
        : (tail + text.slice(-options.window)).slice(-options.window)
      bytes += chunk.length
      const match = matchTail()
      if (skipping) {
        if (match === null) return noFrames
        skipping = false
        reset()
        return noFrames
      }
      if (match === null) {
        if (bytes > options.maxBytes) {
          skipping = true
          parts = []
          return [tooLarge]
        }
        parts.push(text)
        return noFrames
      }
      parts.push(text)
      const whole = parts.length === 1 ? text : parts.join("")
      const frame: Frame = bytes > options.maxBytes
        ? tooLarge
        : response(trimFinalNewline(whole.slice(0, whole.length - match[0].length)))
      reset()
      return [frame]
    }
  }

  function reset() {
    parts = []
    bytes = 0
    tail = ""
  }
}
