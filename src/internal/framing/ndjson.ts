import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { EndsTurnMatch, Ndjson, NdjsonOptions } from "../../Framing.js"
import type { Decoder } from "./frame.js"
import { makeCollector, response, skipped, tooLarge } from "./frame.js"
import { makeLineSplitter, utf8Bytes } from "./lineSplitter.js"
import type { MessageMatch, MessagePredicate } from "./schemas.js"

/**
 * One JSON text as one line. Line breaks are replaced by spaces: in valid JSON they can only be
 * whitespace between tokens (inside strings they are escaped), so a pretty-printed value keeps
 * its meaning.
 * @internal
 */
export const encodeNdjson = (text: string): Uint8Array => utf8Bytes(text.replace(/\r?\n/g, " ").trimEnd() + "\n")

/** @internal */
export const ndjson = <A, I>(options: NdjsonOptions<A, I> = {}): Ndjson => ({
  _tag: "Ndjson",
  ...(options.schema === undefined ? {} : { schema: options.schema }),
  // Sound: the decoder calls it only with values `schema` produced, or without one, with JSON
  // objects, which is what `A` defaults to.
  ...(options.endsTurn === undefined ? {} : { endsTurn: options.endsTurn as MessagePredicate | EndsTurnMatch })
})

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const matches = (match: MessageMatch) => (message: unknown): boolean =>
  isObject(message) && Object.entries(match).every(([key, value]) => message[key] === value)

/** Parses one line, then decodes it with the message schema if there is one. */
const makeParser = (schema: Schema.Schema.AnyNoContext | undefined) => {
  const decode = schema === undefined ? undefined : Schema.decodeUnknownEither(schema)
  return (line: string): Either.Either<unknown, string> => {
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (error) {
      return Either.left(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
    }
    if (decode === undefined) return Either.right(json)
    return Either.mapLeft(decode(json), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
  }
}

/**
 * The test for the end of a turn, or a message why it could not be applied. A predicate that
 * throws must not take the output reader down with it: the message is skipped instead.
 */
const makeEndsTurn = (framing: Ndjson): (message: unknown) => Either.Either<boolean, string> => {
  const endsTurn = framing.endsTurn
  if (endsTurn === undefined) return () => Either.right(true)
  const test: MessagePredicate = typeof endsTurn === "function" ? endsTurn : matches(endsTurn)
  const guarded = framing.schema === undefined && typeof endsTurn === "function"
  return (message) => {
    if (guarded && !isObject(message)) return Either.right(false)
    try {
      return Either.right(test(message) === true)
    } catch (error) {
      return Either.left(`endsTurn threw: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/**
 * Newline-delimited JSON. Each message joins the current turn; the turn's `Response` comes with
 * the message that `endsTurn` accepts, its `value` the turn's messages and its `text` their lines.
 *
 * Blank lines are ignored. A line that is not JSON, or that the schema rejects, is reported as
 * `Skipped` and is no part of the turn.
 *
 * The cap applies to the turn (its lines and the line breaks between them). Past it, `TooLarge`
 * is emitted once and the rest of the turn is dropped up to the message that ends it. A single
 * line longer than the cap cannot be parsed, so it cannot end the turn: if it was the last
 * message, the decoder re-syncs at the end of the next turn.
 * @internal
 */
export const makeNdjsonDecoder = (framing: Ndjson, maxBytes: number): Decoder => {
  const frames = makeCollector()
  const parse = makeParser(framing.schema)
  const endsTurn = makeEndsTurn(framing)
  let messages: Array<unknown> = []
  let texts: Array<string> = []
  let bytes = 0
  let skipping = false

  const reset = () => {
    messages = []
    texts = []
    bytes = 0
  }

  const overflow = () => {
    if (!skipping) frames.emit(tooLarge)
    skipping = true
    reset()
  }

  const onLine = (line: string, lineBytes: number) => {
    if (line.trim() === "") return
    const parsed = parse(line)
    if (Either.isLeft(parsed)) return frames.emit(skipped(line, parsed.left))
    const message = parsed.right
    const ends = endsTurn(message)
    if (Either.isLeft(ends)) return frames.emit(skipped(line, ends.left))
    if (skipping) {
      if (ends.right) skipping = false
      return
    }
    const size = (texts.length === 0 ? 0 : bytes + 1) + lineBytes
    if (size > maxBytes) {
      overflow()
      // The message that overflows may be the last of its turn; then there is nothing to skip.
      if (ends.right) skipping = false
      return
    }
    messages.push(message)
    texts.push(line)
    bytes = size
    if (ends.right) {
      frames.emit(response(texts.join("\n"), messages))
      reset()
    }
  }

  const split = makeLineSplitter({ maxBytes, dropCarriageReturn: true, onLine, onOverflow: overflow })

  return {
    push(chunk) {
      split(chunk)
      return frames.take()
    }
  }
}
