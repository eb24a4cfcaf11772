/**
 * Field schemas shared by the framing options: durations, regular expressions, and the few
 * fields that hold code (a predicate, a command template, a message schema).
 *
 * Fields holding functions or schemas are `Schema.declare`d with a type guard: options still
 * decode (with a clear message when such a field is the wrong kind of value), while the value
 * passes through untouched. Each also has a plain-data alternative where one makes sense, so
 * that a framing can come from a config file or the command line.
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"

/** @internal */
export const isValidRegex = (pattern: string, flags: string): boolean => {
  try {
    new RegExp(pattern, flags)
    return true
  } catch {
    return false
  }
}

/** A refinement check for an optional pattern, blaming `field`. @internal */
export const checkPattern = (pattern: string | undefined, flags: string, field: string) =>
  pattern === undefined || isValidRegex(pattern, flags) ||
  { path: [field], message: `not a valid regular expression: /${pattern}/${flags}` }

/** The flags a pattern may carry: "g" and "y" would make `exec` stateful, so they are dropped. @internal */
export const regexFlags = (regex: RegExp): string => regex.flags.replace(/[gy]/g, "")

/**
 * A positive, finite duration, given as `Duration.DurationInput`.
 * @internal
 */
export const PositiveDuration: Schema.Schema<Duration.Duration, Duration.DurationInput> = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const fail = (reason: string) => ParseResult.fail(new ParseResult.Type(ast, input, reason))
      return Option.match(Duration.decodeUnknown(input), {
        onNone: () =>
          fail(`expected a duration such as "200 millis" or a number of milliseconds, got ${String(input)}`),
        onSome: (d) =>
          Duration.isFinite(d) && Duration.toMillis(d) > 0
            ? ParseResult.succeed(d)
            : fail(`expected a finite duration greater than zero, got ${String(input)}`)
      })
    },
    encode: (d) => ParseResult.succeed(d)
  }
) as Schema.Schema<Duration.Duration, Duration.DurationInput>

/**
 * A predicate over one decoded ndjson message.
 * @internal
 */
export type MessagePredicate = (message: unknown) => boolean

/** @internal */
export const MessagePredicate = Schema.declare(
  (u: unknown): u is MessagePredicate => typeof u === "function",
  {
    identifier: "MessagePredicate",
    description: "a function (message) => boolean",
    message: () => "expected a function (message) => boolean or an object of field values to match",
    jsonSchema: { description: "a function (message) => boolean; not representable in JSON" }
  }
)

/** Field values a message must have, e.g. `{ type: "result" }`. @internal */
export const MessageMatch = Schema.Record({
  key: Schema.String,
  value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean, Schema.Null)
})

/** @internal */
export type MessageMatch = typeof MessageMatch.Type

/** A schema that decodes messages synchronously and needs no services. @internal */
export const MessageSchema = Schema.declare(
  (u: unknown): u is Schema.Schema.AnyNoContext => Schema.isSchema(u),
  {
    identifier: "MessageSchema",
    description: "a Schema for the messages",
    message: () => "expected a Schema for the messages",
    jsonSchema: { description: "a Schema; not representable in JSON" }
  }
)

/** @internal */
export type SentinelCommand = (marker: string) => string

/** @internal */
export const SentinelCommand = Schema.Union(
  Schema.String.annotations({
    message: () => "expected a template containing {marker} or a function (marker) => string"
  }).pipe(
    Schema.filter((s) => s.includes("{marker}") || "the sentinel command template must contain {marker}")
  ),
  Schema.declare((u: unknown): u is SentinelCommand => typeof u === "function", {
    identifier: "SentinelCommandFunction",
    jsonSchema: { description: "a function (marker) => string; not representable in JSON" }
  })
)

/** A marker: at least 8 printable ASCII characters, no spaces, so that it is one unmistakable token. @internal */
export const Marker = Schema.String.pipe(
  Schema.filter((s) =>
    /^[\x21-\x7e]{8,200}$/.test(s) || "the marker must be 8 to 200 printable ASCII characters without spaces"
  )
)

/** A fresh marker, unique to one pool: `__toolpool_<16 hex digits>__`. @internal */
export const makeMarker = (): string => {
  return `__toolpool_${randomBytes(8).toString("hex")}__`
}

/**
 * Answers a request the tool sends to the client (JSON-RPC server-to-client request). Return the
 * result; throw (or return a rejected promise) to answer with an error.
 * @internal
 */
export type RequestHandler = (request: { readonly method: string; readonly params: unknown }) => unknown

/** @internal */
export const RequestHandler = Schema.declare((u: unknown): u is RequestHandler => typeof u === "function", {
  identifier: "RequestHandler",
  description: "a function ({ method, params }) => result",
  message: () => "expected a function ({ method, params }) => result",
  jsonSchema: { description: "a function ({ method, params }) => result; not representable in JSON" }
})

/**
 * A readiness handshake: a request the instance must answer before it serves, and an optional
 * notification sent after the answer (MCP and LSP: `initialize`, then `initialized`).
 * @internal
 */
export const Handshake = Schema.Struct({
  method: Schema.String.pipe(Schema.nonEmptyString()),
  params: Schema.optional(Schema.Unknown),
  /** Sent (without params unless `notificationParams`) once the answer came. */
  notification: Schema.optional(Schema.String.pipe(Schema.nonEmptyString())),
  notificationParams: Schema.optional(Schema.Unknown)
})
