import type { Decoder } from "./frame.js"
import { makeCollector, response, stripCarriageReturn, tooLarge } from "./frame.js"
import { makeLineSplitter } from "./lineSplitter.js"

/**
 * Each line is one response, without its "\n" and a "\r" before it. A line longer than
 * `maxBytes` yields one `TooLarge` frame and is skipped up to its end.
 * @internal
 */
export const makeLinesDecoder = (maxBytes: number): Decoder => {
  const frames = makeCollector()
  const split = makeLineSplitter({
    maxBytes,
    onLine: (line) => frames.emit(response(stripCarriageReturn(line))),
    onOverflow: () => frames.emit(tooLarge)
  })
  return {
    push(chunk) {
      split(chunk)
      return frames.take()
    }
  }
}
