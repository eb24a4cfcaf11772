import type { Decoder } from "./frame.js"
import { makeCollector, response, tooLarge } from "./frame.js"
import { makeLineSplitter } from "./lineSplitter.js"

/**
 * Each line is one response, without its "\n" and a "\r" before it. A line longer than
 * `maxBytes` is dropped, and one `TooLarge` frame stands for it where it ends.
 * @internal
 */
export const makeLinesDecoder = (maxBytes: number): Decoder => {
  const frames = makeCollector()
  const split = makeLineSplitter({
    maxBytes,
    dropCarriageReturn: true,
    onLine: (line) => frames.emit(response(line)),
    onOverflow: () => {},
    // reported where the line ends, so the next line is the next frame
    onOverflowEnd: () => frames.emit(tooLarge)
  })
  return {
    push(chunk) {
      split(chunk)
      return frames.take()
    }
  }
}
