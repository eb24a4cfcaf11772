import * as Duration from "effect/Duration"
import type { Prompt, PromptOptions } from "../../Framing.js"
import { makeAnsiStripper } from "./ansi.js"
import type { Decoder, Frame } from "./frame.js"
import { continuation, noFrames, response, tooLarge, trimFinalNewline } from "./frame.js"
import { Utf8Decoder } from "./lineSplitter.js"
import { regexFlags } from "./schemas.js"

/** @internal */
export const prompt = (pattern: RegExp | string, options: PromptOptions = {}): Prompt => ({
  _tag: "Prompt",
  pattern: typeof pattern === "string" ? pattern : pattern.source,
  flags: typeof pattern === "string" ? "" : regexFlags(pattern),
  window: options.window ?? 1024,
  stderr: options.stderr ?? false,
  stripEcho: options.stripEcho ?? false,
  ...(options.continuation === undefined ? {} : {
    continuation: typeof options.continuation === "string" ? options.continuation : options.continuation.source
  }),
  ...(options.promptChange === undefined ? {} : { promptChange: options.promptChange }),
  ...(options.settle === undefined ? {} : { settle: Duration.decode(options.settle) })
})

/**
 * What the prompt encoder tells its decoder: the last input written, for tools that echo it.
 * @internal
 */
export interface EchoState {
  lastInput: string | undefined
  /** On a terminal the echo is always there, though a line editor may redraw it (long lines). */
  readonly terminal?: boolean
}

/**
 * Removes the echo of `input` from the start of `text`: each input line, in order, matched
 * against the first lines of the text (a "\r" a terminal adds before "\n" is allowed for).
 * Nothing is removed unless every input line is there.
 * @internal
 */
export const stripEcho = (text: string, input: string, terminal = false): string => {
  const exact = stripExactEcho(text, input)
  if (exact !== text || !terminal) return exact
  // A line editor redrew the echo (scrolled a long line, say): it is still one line per line of
  // input, so those lines go.
  let rest = text
  for (let lines = input.split("\n").length; lines > 0; lines--) {
    const end = rest.indexOf("\n")
    if (end === -1) return text
    rest = rest.slice(end + 1)
  }
  return rest
}

const stripExactEcho = (text: string, input: string): string => {
  let rest = text
  for (const line of input.split("\n")) {
    const expected = line.endsWith("\r") ? line.slice(0, -1) : line
    if (!rest.startsWith(expected)) return text
    const after = rest.slice(expected.length)
    if (after === "") rest = after
    else if (after.startsWith("\r\n")) rest = after.slice(2)
    else if (after.startsWith("\n")) rest = after.slice(1)
    else return text
  }
  return rest
}

type Boundary = "prompt" | "continuation"

/**
 * Expect-style decoding: output accumulates until the prompt pattern matches at its very end
 * (only the last `window` characters are tried, so a long response costs no rescans). ANSI
 * escape sequences are removed as the output arrives, so patterns see plain text. The text
 * before the prompt, less its final line break (and the echoed input, with `stripEcho`), is the
 * response. The first frame is what the tool printed before its first prompt (its banner).
 *
 * If the continuation pattern matches at the end instead, a `Continuation` frame ends the turn
 * (with no text if the output was over the cap; while output is being dropped after a
 * `TooLarge`, a continuation prompt ends the dropping silently, as the prompt does).
 *
 * With `settle`, a match is only a candidate: the decoder acts on it when `flush` is called
 * (the pool calls it after `settle` of silence), and forgets it when more output comes first.
 *
 * The cap counts every byte of a turn's output as it came, escape sequences and the prompt
 * included, so that where the chunks were cut does not matter. Past it, output is dropped up to
 * the next prompt, where one `TooLarge` frame takes the place of the response.
 * @internal
 */
export const makePromptDecoder = (framing: Prompt, maxBytes: number, echo: EchoState): Decoder => {
  const atEnd = new RegExp(`(?:${framing.pattern})$`, framing.flags)
  const continuationAtEnd = framing.continuation === undefined
    ? undefined
    : new RegExp(`(?:${framing.continuation})$`, framing.flags)
  const window = framing.window
  const settles = framing.settle !== undefined
  const utf8 = new Utf8Decoder()
  const ansi = makeAnsiStripper()
  // The turn's text so far, less its latest piece; joined with `+`, which V8 keeps as a rope
  // until the text is read. The prompt is cut from the latest piece, so that the response is
  // not read whole here (slicing a joined string first copies it into one piece).
  let output = ""
  let latest = ""
  let bytes = 0
  let skipping = false
  // The last `window` characters seen, kept apart from the output so that a match is cheap.
  let tail = ""
  let candidate: Boundary | undefined

  const reset = () => {
    output = ""
    latest = ""
    bytes = 0
    tail = ""
    candidate = undefined
  }

  const boundary = (): [Boundary, number] | undefined => {
    const match = atEnd.exec(tail)
    if (match !== null) return ["prompt", match[0].length]
    const more = continuationAtEnd?.exec(tail)
    return more === null || more === undefined ? undefined : ["continuation", more[0].length]
  }

  /** The output less the `matched` prompt and the line break before it. */
  const withoutEnd = (matched: number): string => {
    const before = tail.slice(0, tail.length - matched)
    // The line break is seen in the tail unless the prompt filled it.
    if (before.length >= 2 || before.length === output.length + latest.length - matched) {
      const cut = matched + (before.endsWith("\r\n") ? 2 : before.endsWith("\n") ? 1 : 0)
      if (cut <= latest.length) return output + latest.slice(0, latest.length - cut)
    }
    const whole = output + latest
    return trimFinalNewline(whole.slice(0, whole.length - matched))
  }

  const finish = (kind: Boundary, matched: number): Frame | undefined => {
    if (skipping) {
      // The oversized response ends here: report it now, so that the turn that gets the
      // report is the one whose output it was, and the next turn starts in sync.
      skipping = false
      reset()
      return kind === "continuation" ? continuation("") : tooLarge
    }
    const over = bytes > maxBytes
    let text = withoutEnd(matched)
    reset()
    // On a terminal, blanks before the prompt on its own line belong to the prompt (the perl
    // debugger's "  DB<1> "), whatever the pattern says.
    if (echo.terminal === true) text = text.replace(/(^|\n)[ \t]+$/, "")
    if (framing.stripEcho && echo.lastInput !== undefined) text = stripEcho(text, echo.lastInput, echo.terminal)
    echo.lastInput = undefined
    // Being stuck at a continuation prompt matters more than the size: the text is what goes.
    if (kind === "continuation") return continuation(over ? "" : text)
    return over ? tooLarge : response(text)
  }

  const push = (chunk: Uint8Array): ReadonlyArray<Frame> => {
    const text = ansi.strip(utf8.write(chunk))
    bytes += chunk.length
    if (text.length > 0) {
      candidate = undefined
      tail = tail.length + text.length <= window
        ? tail + text
        : (tail + text.slice(-window)).slice(-window)
      if (!skipping) {
        output += latest
        latest = text
      }
    }
    const found = text.length > 0 ? boundary() : undefined
    if (found !== undefined && !settles) {
      const frame = finish(...found)
      return frame === undefined ? noFrames : [frame]
    }
    if (found !== undefined) candidate = found[0]
    if (!skipping && bytes > maxBytes) {
      skipping = true
      output = ""
      latest = ""
    }
    return noFrames
  }

  const flush = (): Frame | undefined => {
    if (candidate === undefined) return undefined
    const found = boundary()
    candidate = undefined
    return found === undefined ? undefined : finish(...found)
  }

  return settles ? { push, flush } : { push }
}
