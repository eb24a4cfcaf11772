/**
 * How an instance's output bytes become responses, and how a request becomes input bytes.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

const isValidRegex = (pattern: string, flags: string): boolean => {
  try {
    new RegExp(pattern, flags)
    return true
  } catch {
    return false
  }
}

/**
 * Each line of output is one response; each request is written as one line.
 * Right for tools that answer every input with exactly one line.
 *
 * @since 0.1.0
 * @category models
 */
export const Lines = Schema.TaggedStruct("Lines", {})

/**
 * @since 0.1.0
 * @category models
 */
export type Lines = typeof Lines.Type

/**
 * Expect-style framing: a response is everything the tool prints before its prompt
 * shows up again at the end of the output. The instance is ready once the first prompt
 * has been seen; what came before it (a banner) is not a response.
 *
 * @since 0.1.0
 * @category models
 */
export const Prompt = Schema.TaggedStruct("Prompt", {
  /** Source of the regular expression that matches the prompt; it is matched at the end of the output only. */
  pattern: Schema.String.pipe(Schema.minLength(1, { message: () => "the prompt pattern must not be empty" })),
  flags: Schema.optionalWith(Schema.String, { default: () => "" }),
  /** How many trailing characters of the output the pattern is tried against. */
  window: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 65_536)), { default: () => 1024 })
}).pipe(
  Schema.filter((p) => isValidRegex(p.pattern, p.flags) || `not a valid regular expression: /${p.pattern}/${p.flags}`)
)

/**
 * @since 0.1.0
 * @category models
 */
export type Prompt = typeof Prompt.Type

/**
 * A framing strategy.
 *
 * @since 0.1.0
 * @category models
 */
export type Framing = Lines | Prompt

/**
 * The schema that options are decoded with.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Framing = Schema.Union(Lines, Prompt)

/**
 * One line of output per response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lines = (): Framing => Lines.make({})

/**
 * Responses end where the tool prints its prompt again.
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * // aider and the bundled fixture tool print "> " and wait for input
 * const aider = Framing.prompt(/> $/)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const prompt = (pattern: RegExp | string, options?: { readonly window?: number }): Framing =>
  ({
    _tag: "Prompt",
    pattern: typeof pattern === "string" ? pattern : pattern.source,
    flags: typeof pattern === "string" ? "" : pattern.flags.replace(/[gy]/g, ""),
    window: options?.window ?? 1024
  })
