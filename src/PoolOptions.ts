/**
 * The options a pool is made from, and the schema that checks them before anything spawns.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Framing from "./Framing.js"
import * as RestartPolicy from "./RestartPolicy.js"
import { ConfigError } from "./ToolPoolError.js"
import { isTransport } from "./Transport.js"
import type { Transport } from "./Transport.js"

/**
 * A duration given as `Duration.DurationInput` (`"2 seconds"`, a number of milliseconds,
 * or a `Duration`), finite and not negative.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DurationInput: Schema.Schema<Duration.Duration, Duration.DurationInput> = Schema.transformOrFail(
  Schema.Union(Schema.String, Schema.Number, Schema.DurationFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      const fail = (reason: string) => ParseResult.fail(new ParseResult.Type(ast, input, reason))
      if (typeof input === "number" && !Number.isFinite(input)) return fail(`expected a finite duration, got ${input}`)
      // Duration clamps negative numbers to zero; a negative option is a mistake worth naming.
      if (typeof input === "number" && input < 0) return fail(`expected a duration of zero or more, got ${input}`)
      return Option.match(Duration.decodeUnknown(input), {
        onNone: () => fail(`expected a duration such as "2 seconds" or a number of milliseconds, got ${String(input)}`),
        onSome: (d) =>
          !Duration.isFinite(d)
            ? fail("expected a finite duration")
            : Duration.toMillis(d) < 0 || Number.isNaN(Duration.toMillis(d))
            ? fail(`expected a duration of zero or more, got ${String(input)}`)
            : ParseResult.succeed(d)
      })
    },
    encode: (d) => ParseResult.succeed(d)
  }
) as Schema.Schema<Duration.Duration, Duration.DurationInput>

const RestartPolicySchema = Schema.declare(
  (u: unknown): u is RestartPolicy.RestartPolicy =>
    typeof u === "object" && u !== null && "mode" in u && "schedule" in u && "intensity" in u && "resetAfter" in u,
  {
    identifier: "RestartPolicy",
    message: () => "expected a RestartPolicy, e.g. RestartPolicy.onFailure() or RestartPolicy.never"
  }
)

const TransportSchema = Schema.declare(isTransport, {
  identifier: "Transport",
  message: () => "expected a Transport, e.g. Transport.pipes() or Transport.pty()"
})

const count = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
const seconds = (n: number) => () => Duration.seconds(n)

/**
 * The schema of a pool's options. Unknown keys are rejected.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PoolOptions = Schema.Struct({
  /** Executable to run (looked up on `PATH`). */
  command: Schema.Trim.pipe(Schema.nonEmptyString({ message: () => "the command must not be empty" })),
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Extra environment variables, added to the parent's unless `extendEnv` is false. */
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  extendEnv: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  cwd: Schema.optional(Schema.String.pipe(Schema.nonEmptyString())),
  /** A name for logs and errors; defaults to the command. */
  name: Schema.optional(Schema.String),
  instances: Schema.optionalWith(count(1, 1024), { default: () => 1 }),
  framing: Schema.optionalWith(Framing.Framing, { default: () => Framing.lines() }),
  /** Deadline of one turn (`request`) and the default wait of `read`. */
  turnTimeout: Schema.optionalWith(DurationInput, { default: seconds(30) }),
  /** A turn fails once the tool has written nothing for this long (none by default). */
  inactivityTimeout: Schema.optional(DurationInput),
  /** How long `submit` waits for a free instance before failing with `PoolBusy`. */
  acquireTimeout: Schema.optionalWith(DurationInput, { default: seconds(30) }),
  /** How many `submit` callers may wait for a free instance. */
  maxQueue: Schema.optionalWith(count(0, 1_000_000), { default: () => 10_000 }),
  /** How long an instance may take to become ready. */
  startTimeout: Schema.optionalWith(DurationInput, { default: seconds(30) }),
  /** On shutdown, how long in-flight turns may take to finish. */
  drain: Schema.optionalWith(DurationInput, { default: seconds(5) }),
  /** On stop, how long after stdin is closed before SIGTERM. */
  grace: Schema.optionalWith(DurationInput, { default: seconds(1) }),
  /** On stop, how long after SIGTERM before SIGKILL. */
  killAfter: Schema.optionalWith(DurationInput, { default: seconds(2) }),
  maxResponseBytes: Schema.optionalWith(count(1, 1 << 30), { default: () => 16 * 1024 * 1024 }),
  /** Inputs queued per instance before `send` waits. */
  stdinQueue: Schema.optionalWith(count(1, 65_536), { default: () => 64 }),
  /** Unread responses kept per instance before its output is back-pressured. */
  responseQueue: Schema.optionalWith(count(1, 65_536), { default: () => 256 }),
  /** Bytes of recent output kept per instance for status and error reports. */
  transcriptBytes: Schema.optionalWith(count(0, 1 << 24), { default: () => 16_384 }),
  /** What happens when an instance's process ends on its own. */
  restart: Schema.optionalWith(RestartPolicySchema, { default: () => RestartPolicy.defaultPolicy }),
  /**
   * How a turn that timed out or was interrupted is cut short in the tool: `"SIGINT"` to the
   * tool's process, an input line to write, or `"none"`. The instance then has `healGrace` to
   * show it is back in sync (the abandoned turn's answer arrives), or it is restarted.
   */
  interrupt: Schema.optionalWith(
    Schema.Union(Schema.Literal("SIGINT", "none"), Schema.Struct({ input: Schema.String })),
    { default: () => "SIGINT" as const }
  ),
  healGrace: Schema.optionalWith(DurationInput, { default: seconds(2) }),
  /** Replace an instance's process after it served this many turns (when idle). */
  maxRequests: Schema.optional(count(1, Number.MAX_SAFE_INTEGER)),
  /** Replace an instance's process after it has been up this long (when idle). */
  maxUptime: Schema.optional(DurationInput),
  /**
   * Replace an instance's process (when idle, the replacement ready first) once the resident
   * memory of its process group passes this many bytes. Read from Linux's `/proc` every second;
   * no effect elsewhere, nor on in-memory or remote processes.
   */
  maxMemory: Schema.optional(count(1, Number.MAX_SAFE_INTEGER)),
  /**
   * Probe every idle, ready instance on a schedule: a turn with `input` whose answer must match
   * `expect` (a regular expression source) within `timeout`; an instance that fails is restarted.
   */
  healthCheck: Schema.optional(Schema.Struct({
    input: Schema.String,
    expect: Schema.optional(Schema.String),
    every: DurationInput,
    timeout: Schema.optionalWith(DurationInput, { default: seconds(5) })
  })),
  /** Bytes of recent stderr kept per instance. */
  stderrTailBytes: Schema.optionalWith(count(0, 1 << 20), { default: () => 4096 }),
  /**
   * How processes are started and reached (`Transport.pipes()`, `Transport.pty()`, ...). Without
   * it, the transport in the Effect context (`Transport.Current`, by default pipes).
   */
  transport: Schema.optional(TransportSchema as Schema.Schema<Transport>)
})

/**
 * Options as a caller writes them: only `command` is required.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = typeof PoolOptions.Encoded

/**
 * Options after decoding, with every default filled in.
 *
 * @since 0.1.0
 * @category models
 */
export type PoolOptions = typeof PoolOptions.Type

const decodeOptions = Schema.decodeUnknown(PoolOptions, { onExcessProperty: "error", errors: "first" })

/**
 * Checks options and fills in defaults, failing with a `ConfigError` that names the field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decode = (input: Input): Effect.Effect<PoolOptions, ConfigError> =>
  decodeOptions(input).pipe(
    Effect.mapError((error) => {
      const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
      return new ConfigError({
        field: issue === undefined || issue.path.length === 0 ? "(options)" : issue.path.map(String).join("."),
        reason: issue?.message ?? error.message
      })
    })
  )
