/**
 * How an instance's output bytes become responses, and how a request becomes input bytes.
 *
 * Every framing is plain data with a `_tag`, checked by the `Framing` schema when pool options
 * are decoded. The few options that hold code (an ndjson predicate or message schema, a
 * sentinel command) accept a function, and also a plain-data form so that a framing can come
 * from a config file or the command line.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as ndjsonInternal from "./internal/framing/ndjson.js"
import * as promptInternal from "./internal/framing/prompt.js"
import {
  checkPattern,
  Handshake,
  makeMarker,
  Marker,
  MessageMatch,
  MessagePredicate,
  MessageSchema,
  PositiveDuration,
  RequestHandler,
  SentinelCommand
} from "./internal/framing/schemas.js"

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
 * One JSON value per line (Claude Code's stream-json, Codex, ...). A turn's response is the list
 * of messages up to and including the one that ends the turn. Blank lines are ignored; lines
 * that are not JSON, or that `schema` rejects, are skipped and reported for the log.
 *
 * @since 0.1.0
 * @category models
 */
export const Ndjson = Schema.TaggedStruct("Ndjson", {
  /**
   * Which message ends a turn: a predicate, or field values the message must have (`{ type: "result" }`).
   * Without it, every message is a turn of its own. Without `schema`, only JSON objects are
   * tried against it: other values never end a turn.
   */
  endsTurn: Schema.optional(Schema.Union(MessagePredicate, MessageMatch)),
  /** Decodes each message (synchronously); `endsTurn` then sees the decoded value. */
  schema: Schema.optional(MessageSchema)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Ndjson = typeof Ndjson.Type

/**
 * Each request is followed by a command that makes the tool print a marker; the response is
 * everything up to the line that ends with the marker. For tools without a prompt on pipes
 * (bc, sqlite3). The pool also sends the command alone at start-up, to know the tool is ready.
 *
 * @since 0.1.0
 * @category models
 */
export const Sentinel = Schema.TaggedStruct("Sentinel", {
  /** The command that prints the marker: a function of it, or a template where `{marker}` stands for it. */
  command: SentinelCommand,
  /** Unique per pool; generated when not given. */
  marker: Schema.optionalWith(Marker, { default: makeMarker })
})

/**
 * @since 0.1.0
 * @category models
 */
export type Sentinel = typeof Sentinel.Type

/**
 * Expect-style framing: a response is everything the tool prints before its prompt shows up
 * again at the end of the output, less ANSI escape sequences and one final line break. The
 * instance is ready once the first prompt has been seen; what came before it (a banner) is not
 * a response. Patterns are matched against the output with ANSI sequences removed.
 *
 * @since 0.1.0
 * @category models
 */
export const Prompt = Schema.TaggedStruct("Prompt", {
  /** Source of the regular expression that matches the prompt; it is matched at the end of the output only. */
  pattern: Schema.String.pipe(Schema.minLength(1, { message: () => "the prompt pattern must not be empty" })),
  flags: Schema.optionalWith(Schema.String, { default: () => "" }),
  /** How many trailing characters of the output the patterns are tried against. */
  window: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 65_536)), { default: () => 1024 }),
  /** The continuation prompt (python's `... `), with the same flags: seen at the end, the turn fails. */
  continuation: Schema.optional(
    Schema.String.pipe(Schema.minLength(1, { message: () => "the continuation pattern must not be empty" }))
  ),
  /** Input sent once at start-up to set a prompt that `pattern` cannot mistake (pexpect's replwrap trick). */
  promptChange: Schema.optional(
    Schema.String.pipe(Schema.minLength(1, { message: () => "the prompt-change input must not be empty" }))
  ),
  /** The tool prints its prompt on stderr (python3 -i does): stderr is framed together with stdout. */
  stderr: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Remove the input from the start of the response, for tools that echo it. */
  stripEcho: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Wait this long without output after the prompt appears before taking it as the end. */
  settle: Schema.optional(PositiveDuration)
}).pipe(
  Schema.filter((
    p
  ) => [checkPattern(p.pattern, p.flags, "pattern"), checkPattern(p.continuation, p.flags, "continuation")])
)

/**
 * @since 0.1.0
 * @category models
 */
export type Prompt = typeof Prompt.Type

/**
 * A response ends when the tool has been silent for `duration`. A fallback for tools with no
 * better boundary: every response costs that wait.
 *
 * @since 0.1.0
 * @category models
 */
export const Quiet = Schema.TaggedStruct("Quiet", { duration: PositiveDuration })

/**
 * @since 0.1.0
 * @category models
 */
export type Quiet = typeof Quiet.Type

/**
 * LSP-style messages: `Content-Length: N` and other headers, a blank line, then exactly N bytes.
 * A request is written with such a header in front.
 *
 * @since 0.1.0
 * @category models
 */
export const ContentLength = Schema.TaggedStruct("ContentLength", {})

/**
 * @since 0.1.0
 * @category models
 */
export type ContentLength = typeof ContentLength.Type

/**
 * JSON-RPC 2.0 over ndjson (MCP) or Content-Length messages (LSP): responses, notifications and
 * requests from the tool are told apart.
 *
 * @since 0.1.0
 * @category models
 */
export const JsonRpc = Schema.TaggedStruct("JsonRpc", {
  over: Schema.Literal("ndjson", "contentLength"),
  /** Sent first on every (re)start; the instance is ready once it is answered. */
  handshake: Schema.optional(Handshake),
  /** Answers the tool's own requests; without it they get a "method not found" error. */
  onRequest: Schema.optional(RequestHandler)
})

/**
 * @since 0.1.0
 * @category models
 */
export type JsonRpc = typeof JsonRpc.Type

/**
 * A framing strategy.
 *
 * @since 0.1.0
 * @category models
 */
export type Framing = Lines | Ndjson | Sentinel | Prompt | Quiet | ContentLength | JsonRpc

/**
 * The schema that options are decoded with.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Framing = Schema.Union(Lines, Ndjson, Sentinel, Prompt, Quiet, ContentLength, JsonRpc)

/**
 * One line of output per response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const lines = (): Lines => ({ _tag: "Lines" })

/**
 * Field values a message must have to end a turn, e.g. `{ type: "result" }`.
 *
 * @since 0.1.0
 * @category models
 */
export type EndsTurnMatch = typeof MessageMatch.Type

/**
 * Options of `ndjson`: `schema` types the messages that `endsTurn` sees.
 *
 * @since 0.1.0
 * @category models
 */
export interface NdjsonOptions<A, I> {
  readonly schema?: Schema.Schema<A, I>
  readonly endsTurn?: ((message: A) => boolean) | EndsTurnMatch
}

/**
 * One JSON message per line; a turn ends with the message `endsTurn` accepts.
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * // claude -p --input-format stream-json --output-format stream-json
 * const claude = Framing.ndjson({ endsTurn: (m) => m.type === "result" })
 * // the same as data, e.g. from a config file
 * const same = Framing.ndjson({ endsTurn: { type: "result" } })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const ndjson: <A = { readonly [key: string]: unknown }, I = A>(options?: NdjsonOptions<A, I>) => Ndjson =
  ndjsonInternal.ndjson

/**
 * The request, then a command that prints a marker; the response ends at the marker.
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * const bc = Framing.sentinel({ command: (marker) => `print "${marker}\\n"` })
 * const sqlite3 = Framing.sentinel({ command: ".print {marker}" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const sentinel = (options: {
  readonly command: string | ((marker: string) => string)
  readonly marker?: string
}): Sentinel => ({ _tag: "Sentinel", command: options.command, marker: options.marker ?? makeMarker() })

/**
 * Options of `prompt`, as described on `Prompt`; a `continuation` RegExp keeps its source only
 * (the prompt's flags apply).
 *
 * @since 0.1.0
 * @category models
 */
export interface PromptOptions {
  readonly window?: number
  readonly continuation?: RegExp | string
  readonly promptChange?: string
  readonly stderr?: boolean
  readonly stripEcho?: boolean
  readonly settle?: Duration.DurationInput
}

/**
 * Responses end where the tool prints its prompt again.
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * // aider and the bundled fixture tool print "> " and wait for input
 * const aider = Framing.prompt(/> $/)
 * // python3 -i: a prompt nothing else prints, and "... " means the input was incomplete
 * const python = Framing.prompt(/<tp> $/, {
 *   promptChange: "import sys; sys.ps1 = '<tp> '; sys.ps2 = '... '",
 *   continuation: /\.\.\. $/,
 *   stderr: true
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const prompt: (pattern: RegExp | string, options?: PromptOptions) => Prompt = promptInternal.prompt

/**
 * A response ends after `duration` of silence.
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * const chatty = Framing.quiet("500 millis")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const quiet = (duration: Duration.DurationInput): Quiet => ({
  _tag: "Quiet",
  duration: Duration.decode(duration)
})

/**
 * `Content-Length` framed messages, as LSP servers and legacy MCP servers speak them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const contentLength = (): ContentLength => ({ _tag: "ContentLength" })

/**
 * JSON-RPC 2.0 messages over ndjson (MCP stdio) or `Content-Length` framing (LSP).
 *
 * @example
 * ```ts
 * import { Framing } from "toolpool"
 *
 * const lsp = Framing.jsonRpc({ over: "contentLength" })
 * const mcp = Framing.jsonRpc({ over: "ndjson" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const jsonRpc = (options: JsonRpcOptions): JsonRpc => ({ _tag: "JsonRpc", ...options })

/**
 * Options of {@link jsonRpc}.
 *
 * @since 0.1.0
 * @category models
 */
export interface JsonRpcOptions {
  readonly over: "ndjson" | "contentLength"
  /** e.g. `{ method: "initialize", params: {...}, notification: "notifications/initialized" }` */
  readonly handshake?: {
    readonly method: string
    readonly params?: unknown
    readonly notification?: string
    readonly notificationParams?: unknown
  }
  /** Answers the tool's requests to the client; throw to answer with an error. */
  readonly onRequest?: (request: { readonly method: string; readonly params: unknown }) => unknown
}
