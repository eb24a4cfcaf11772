/**
 * Prompts read from a file or stdin, one per line, as a stream: a huge input is never held in
 * memory, and reading stops as soon as the run stops taking prompts.
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { InputFormat } from "./options.js"

/** One prompt: its id (the JSONL `id`, or the line number), the input, an optional affinity key. @internal */
export interface Prompt {
  readonly _tag: "Prompt"
  readonly id: string | number
  readonly input: string
  readonly key: string | undefined
}

/** A line that should have been a JSONL prompt and is not: it fails as a prompt of its own. @internal */
export interface BadLine {
  readonly _tag: "BadLine"
  readonly id: number
  readonly reason: string
}

/** @internal */
export type Line = Prompt | BadLine

/** Reading the input failed (an I/O error, not a bad line). @internal */
export class InputError extends Data.TaggedError("InputError")<{ readonly source: string; readonly reason: string }> {
  override get message(): string {
    return `cannot read ${this.source}: ${this.reason}`
  }
}

const JsonlPrompt = Schema.Struct({
  id: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  input: Schema.String,
  key: Schema.optional(Schema.String)
})

const decodeJsonl = Schema.decodeUnknownOption(JsonlPrompt)

const expected = `expected a JSON object {"input": string, "id"?: string | number, "key"?: string}`

/**
 * One non-blank line as a prompt. `auto` takes a line for JSONL when it is a JSON object with a
 * string `input`, and for text otherwise; `jsonl` rejects anything else.
 * @internal
 */
export const parseLine = (text: string, line: number, format: InputFormat): Line => {
  const asText: Prompt = { _tag: "Prompt", id: line, input: text, key: undefined }
  if (format === "text" || (format === "auto" && !text.trimStart().startsWith("{"))) return asText
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    if (format === "auto") return asText
    return { _tag: "BadLine", id: line, reason: `line ${line}: not JSON (${(error as Error).message})` }
  }
  return Option.match(decodeJsonl(json), {
    onNone: (): Line => format === "auto" ? asText : { _tag: "BadLine", id: line, reason: `line ${line}: ${expected}` },
    onSome: (p): Line => ({ _tag: "Prompt", id: p.id ?? line, input: p.input, key: p.key })
  })
}

const bytesOf = (
  path: Option.Option<string>
): Stream.Stream<Uint8Array, InputError, FileSystem.FileSystem> =>
  Option.match(path, {
    onNone: () =>
      NodeStream.fromReadable(
        () => process.stdin,
        (error) => new InputError({ source: "stdin", reason: String(error) })
      ),
    onSome: (file) =>
      Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => fs.stream(file))).pipe(
        Stream.mapError((error) => new InputError({ source: file, reason: error.message }))
      )
  })

/**
 * The prompts of a file (or stdin when `path` is none), in order. Blank lines are skipped but
 * counted, so that a text prompt's id is its line number in the file; a final "\r" is dropped.
 * @internal
 */
export const lines = (
  path: Option.Option<string>,
  format: InputFormat
): Stream.Stream<Line, InputError, FileSystem.FileSystem> =>
  bytesOf(path).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.zipWithIndex,
    Stream.filter(([text]) => text.trim() !== ""),
    Stream.map(([text, index]) => parseLine(text, index + 1, format))
  )

const NEWLINE = 0x0a

/**
 * How many prompts a file holds (its non-blank lines), counted by a streaming pass over its
 * bytes, so that progress can show a total before the run has read everything.
 * @internal
 */
export const countPrompts = (path: string): Effect.Effect<number, InputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    let count = 0
    let blank = true
    yield* fs.stream(path).pipe(
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          for (const byte of chunk) {
            if (byte === NEWLINE) {
              if (!blank) count++
              blank = true
            } else if (byte > 0x20) blank = false
          }
        })
      ),
      Effect.mapError((error) => new InputError({ source: path, reason: error.message }))
    )
    return blank ? count : count + 1
  })
