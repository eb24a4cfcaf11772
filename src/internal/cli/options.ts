/**
 * The options of `toolpool run`, and how they become pool options.
 *
 * Values are checked as little as possible here: durations, counts and patterns go to
 * `ToolPool.make` as given, whose schema rejects bad ones with a `ConfigError` before anything
 * spawns. This module only checks what the pool cannot see (flags that contradict each other,
 * a negative retry count) and maps the pool's field names back to flag names for the message.
 * @internal
 */
import * as Args from "@effect/cli/Args"
import type * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { Input } from "../../PoolOptions.js"
import * as Transport from "../../Transport.js"
import type { CliPreset } from "./presets.js"
import { presetNames, presets } from "./presets.js"

/** A command line the pool cannot run: reported with the message, exit code 2. @internal */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const framings = ["lines", "prompt", "ndjson", "sentinel", "quiet"] as const

/** @internal */
export type FramingName = typeof framings[number]

/** How input lines are read: JSONL objects, plain text, or either, decided line by line. @internal */
export type InputFormat = "auto" | "text" | "jsonl"

/** The options and arguments of `toolpool run`. @internal */
export const runConfig = {
  preset: Options.choice("preset", presetNames).pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription(
      "Options for a known tool: command, arguments, framing, timeouts. COMMAND, when given, replaces the " +
        "preset's command, and ARGS are added to its arguments; the other flags override the preset's options."
    ),
    Options.optional
  ),
  input: Options.file("input", { exists: "yes" }).pipe(
    Options.withAlias("i"),
    Options.withPseudoName("FILE"),
    Options.withDescription("Read prompts from FILE instead of stdin."),
    Options.optional
  ),
  format: Options.choice("format", ["auto", "text", "jsonl"]).pipe(
    Options.withDefault("auto"),
    Options.withDescription(
      "text: each line is a prompt; jsonl: each line is {\"id\": ..., \"input\": \"...\"}; " +
        "auto (the default): a line that is such a JSON object is JSONL, any other line is text."
    )
  ),
  instances: Options.integer("instances").pipe(
    Options.withAlias("n"),
    Options.withPseudoName("N"),
    Options.withDefault(4),
    Options.withDescription("How many instances of the tool to run, 1 to 1024 (default 4).")
  ),
  framing: Options.choice("framing", framings).pipe(
    Options.withDescription(
      "How the tool's output becomes responses. Defaults to the framing that --prompt, --sentinel, " +
        "--quiet or --ends-turn imply, else lines."
    ),
    Options.optional
  ),
  prompt: Options.text("prompt").pipe(
    Options.withPseudoName("REGEX"),
    Options.withDescription("prompt framing: the tool's prompt, matched at the end of its output (default '> $')."),
    Options.optional
  ),
  sentinel: Options.text("sentinel").pipe(
    Options.withPseudoName("CMD"),
    Options.withDescription(
      "sentinel framing: a command that makes the tool print {marker}, sent after every prompt " +
        "(bc: 'print \"{marker}\\n\"', sqlite3: '.print {marker}')."
    ),
    Options.optional
  ),
  quiet: Options.text("quiet").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription("quiet framing: a response ends after this long without output."),
    Options.optional
  ),
  endsTurn: Options.keyValueMap(Options.text("ends-turn").pipe(Options.withPseudoName("FIELD=VALUE"))).pipe(
    Options.withDescription("ndjson framing: field values of the message that ends a turn, e.g. type=result."),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription("Deadline of one prompt: '30s', '500ms', '2m', '1 minute' (default 30s)."),
    Options.optional
  ),
  retries: Options.integer("retries").pipe(
    Options.withPseudoName("N"),
    Options.withDefault(0),
    Options.withDescription(
      "Send a prompt again, up to N times, when its instance died under it (default 0). A prompt that " +
        "itself kills the tool kills N more instances."
    )
  ),
  maxMemory: Options.text("max-memory").pipe(
    Options.withPseudoName("SIZE"),
    Options.withDescription(
      "Replace an instance, when idle and after its replacement is ready, once the resident memory of its " +
        "process group passes SIZE: bytes, or with a unit, '512M', '2G', '1.5GiB' (Linux; off by default)."
    ),
    Options.optional
  ),
  pty: Options.boolean("pty").pipe(
    Options.withDescription(
      "Run the tool on a pseudo-terminal (needs the optional package node-pty): for tools that need one, " +
        "such as debuggers, or prompt only on a terminal. Echo, CR LF and ANSI codes are removed from answers."
    )
  ),
  cols: Options.integer("cols").pipe(
    Options.withPseudoName("N"),
    Options.withDescription("--pty: columns of the terminal (default 200)."),
    Options.optional
  ),
  rows: Options.integer("rows").pipe(
    Options.withPseudoName("N"),
    Options.withDescription("--pty: rows of the terminal (default 50)."),
    Options.optional
  ),
  stderr: Options.choice("stderr", ["tail", "merge", "ignore"] as const).pipe(
    Options.withDefault("tail" as const),
    Options.withDescription(
      "What the tool's stderr is for: tail (kept as the last few KiB, for error reports; the default), " +
        "merge (read with stdout, for tools that prompt on stderr; --framing prompt), ignore (dropped)."
    )
  ),
  cwd: Options.directory("cwd", { exists: "yes" }).pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription("Working directory of the tool."),
    Options.optional
  ),
  env: Options.keyValueMap(Options.text("env").pipe(Options.withPseudoName("K=V"))).pipe(
    Options.withDescription("An environment variable for the tool, K=V; repeat for more."),
    Options.optional
  ),
  cluster: Options.text("cluster").pipe(
    Options.withPseudoName("STORAGE"),
    Options.withDescription(
      "Send the prompts to the runners of a cluster (toolpool runner) instead of starting a pool: " +
        "sqlite:FILE or postgres:URL, the storage the runners use. No COMMAND then; --instances is how many " +
        "prompts run at once, and 'instance' in the results names runner and instance."
    ),
    Options.optional
  ),
  lockExpiration: Options.text("lock-expiration").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription(
      "Cluster runners (toolpool runner), and clients with --cluster: a runner that stops unannounced " +
        "(killed, cut off) loses its shards after this long, and its keys move to the others (default 10s). " +
        "Give every runner and client of a cluster the same value."
    ),
    Options.optional
  ),
  command: Args.text({ name: "COMMAND" }).pipe(
    Args.repeated,
    Args.withDescription(
      "The tool and its arguments (needed unless --preset is given); put them after -- when they have " +
        "options of their own."
    )
  )
} as const

/** The parsed options of `toolpool run`. @internal */
export type RunFlags = Command.Command.ParseConfig<typeof runConfig>

/** What a run needs besides the pool options. @internal */
export interface RunSettings {
  readonly input: Option.Option<string>
  readonly format: InputFormat
  readonly retries: number
  /** How prompts and responses are rewritten for the tool (a preset's). */
  readonly transform: Pick<CliPreset, "input" | "output">
}

const units: Record<string, string> = { ms: "millis", s: "seconds", m: "minutes", h: "hours" }

/**
 * Durations as people type them on a command line ("30s", "500ms", "2m") become Effect's
 * ("30 seconds"); a bare number stays a number of milliseconds, as everywhere in the library.
 * Anything else goes through unchanged, for the pool's schema to accept ("1 minute") or reject.
 * @internal
 */
export const durationInput = (text: string): Duration.DurationInput => {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(trimmed)
  // Unchecked on purpose: the pool's schema decodes any string, and names the flag when it is wrong.
  return (short === null ? trimmed : `${short[1]} ${units[short[2] ?? "ms"]}`) as Duration.DurationInput
}

const byteUnits: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }

/**
 * A size as people type it ("512M", "2G", "1.5GiB", "300mb", "1048576") in bytes; units are
 * binary (K = 1024). Undefined for anything else.
 * @internal
 */
export const byteSize = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?$/i.exec(text.trim())
  if (match === null) return undefined
  const bytes = Math.round(Number(match[1]) * (byteUnits[(match[2] ?? "").toLowerCase()] ?? 1))
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined
}

/** A scalar JSON value when the text is one (`true`, `3`, `null`), else the text itself. */
const scalar = (text: string): string | number | boolean | null => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "number" || typeof value === "boolean" || value === null ? value : text
  } catch {
    return text
  }
}

type FramingInput = NonNullable<Input["framing"]>

/** The framing the flags ask for; none when they name none (the preset's, or else lines). */
const framingFrom = (flags: RunFlags): Either.Either<Option.Option<FramingInput>, UsageError> =>
  Option.isNone(flags.framing) && Option.isNone(flags.prompt) && Option.isNone(flags.sentinel) &&
    Option.isNone(flags.quiet) && Option.isNone(flags.endsTurn)
    ? Either.right(Option.none())
    : Either.map(framingNamed(flags), Option.some)

const framingNamed = (flags: RunFlags): Either.Either<FramingInput, UsageError> => {
  const implied: Array<[FramingName, string]> = []
  if (Option.isSome(flags.prompt)) implied.push(["prompt", "--prompt"])
  if (Option.isSome(flags.sentinel)) implied.push(["sentinel", "--sentinel"])
  if (Option.isSome(flags.quiet)) implied.push(["quiet", "--quiet"])
  if (Option.isSome(flags.endsTurn)) implied.push(["ndjson", "--ends-turn"])
  const [first, second] = implied
  if (second !== undefined && first !== undefined) {
    return Either.left(new UsageError({ reason: `${first[1]} and ${second[1]} belong to different framings` }))
  }
  const name = Option.getOrElse(flags.framing, () => first?.[0] ?? "lines")
  if (first !== undefined && first[0] !== name) {
    return Either.left(new UsageError({ reason: `${first[1]} applies to --framing ${first[0]}, not ${name}` }))
  }
  switch (name) {
    case "lines":
      return Either.right({ _tag: "Lines" })
    case "prompt":
      return Either.right({ _tag: "Prompt", pattern: Option.getOrElse(flags.prompt, () => "> $") })
    case "ndjson":
      return Either.right(Option.match(flags.endsTurn, {
        onNone: () => ({ _tag: "Ndjson" as const }),
        onSome: (fields) => ({
          _tag: "Ndjson" as const,
          endsTurn: Object.fromEntries(Array.from(fields, ([key, value]) => [key, scalar(value)]))
        })
      }))
    case "sentinel":
      return Option.match(flags.sentinel, {
        onNone: () => Either.left(new UsageError({ reason: "--framing sentinel needs --sentinel CMD" })),
        onSome: (command) => Either.right({ _tag: "Sentinel" as const, command })
      })
    case "quiet":
      return Option.match(flags.quiet, {
        onNone: () => Either.left(new UsageError({ reason: "--framing quiet needs --quiet DURATION" })),
        onSome: (duration) => Either.right({ _tag: "Quiet" as const, duration: durationInput(duration) })
      })
  }
}

/** `--pty` and its size, or the default transport. */
const transportFrom = (flags: RunFlags): Either.Either<Option.Option<Transport.Transport>, UsageError> => {
  if (!flags.pty) {
    const stray = Option.isSome(flags.cols) ? "--cols" : Option.isSome(flags.rows) ? "--rows" : undefined
    return stray === undefined
      ? Either.right(Option.none())
      : Either.left(new UsageError({ reason: `${stray} applies to --pty only` }))
  }
  for (const [flag, value] of [["--cols", flags.cols], ["--rows", flags.rows]] as const) {
    if (Option.isSome(value) && (value.value < 2 || value.value > 1000)) {
      return Either.left(new UsageError({ reason: `${flag} must be 2 to 1000, got ${value.value}` }))
    }
  }
  return Either.right(Option.some(Transport.pty({
    ...(Option.isSome(flags.cols) ? { cols: flags.cols.value } : {}),
    ...(Option.isSome(flags.rows) ? { rows: flags.rows.value } : {})
  })))
}

/** `--stderr merge`: stderr is framed with stdout (a prompt framing's `stderr`). */
const withStderr = (
  flags: RunFlags,
  framing: Option.Option<FramingInput>
): Either.Either<Option.Option<FramingInput>, UsageError> => {
  if (flags.stderr !== "merge") return Either.right(framing)
  if (Option.isSome(framing) && framing.value._tag === "Prompt") {
    return Either.right(Option.some({ ...framing.value, stderr: true }))
  }
  return Either.left(new UsageError({ reason: "--stderr merge applies to --framing prompt" }))
}

/**
 * The pool options and run settings a command line asks for, or why it makes no sense. With
 * `--preset`, the preset's options are the base and the flags given override them.
 * @internal
 */
export const fromFlags = (
  flags: RunFlags
): Either.Either<{ readonly pool: Input; readonly run: RunSettings }, UsageError> =>
  Either.gen(function*() {
    if (flags.retries < 0) {
      return yield* Either.left(new UsageError({ reason: `--retries must be 0 or more, got ${flags.retries}` }))
    }
    const [command, ...args] = flags.command
    // @effect/cli hands an option it does not know to the variadic COMMAND: a typo, not a tool.
    if (command?.startsWith("-")) {
      return yield* Either.left(
        new UsageError({ reason: `unknown option ${command} (the tool's own options go after its name, or after --)` })
      )
    }
    const framing = yield* Either.flatMap(framingFrom(flags), (framing) => withStderr(flags, framing))
    const transport = yield* transportFrom(flags)
    const timeout = Option.map(flags.timeout, durationInput)
    const maxMemory = Option.map(flags.maxMemory, (text) => [text, byteSize(text)] as const)
    if (Option.isSome(maxMemory) && maxMemory.value[1] === undefined) {
      return yield* Either.left(
        new UsageError({ reason: `--max-memory takes a size such as 512M or 2G, got ${maxMemory.value[0]}` })
      )
    }
    const overrides: Partial<Input> = {
      instances: flags.instances,
      ...(Option.isSome(framing) ? { framing: framing.value } : {}),
      ...(Option.isSome(transport) ? { transport: transport.value } : {}),
      ...(flags.stderr === "ignore" ? { stderrTailBytes: 0 } : {}),
      ...(Option.isSome(timeout) ? { turnTimeout: timeout.value } : {}),
      ...(Option.isSome(maxMemory) ? { maxMemory: maxMemory.value[1] } : {}),
      ...(Option.isSome(flags.cwd) ? { cwd: flags.cwd.value } : {}),
      ...(Option.isSome(flags.env) ? { env: Object.fromEntries(flags.env.value) } : {})
    }
    const preset = Option.flatMapNullable(flags.preset, (name) => presets[name])
    const settings = { input: flags.input, format: flags.format, retries: flags.retries }
    if (Option.isSome(preset)) {
      const options = preset.value.options(command === undefined ? overrides : { ...overrides, command })
      // The preset's arguments stay (some carry the loop that frames its turns); ARGS come after them.
      const pool: Input = args.length === 0 ? options : { ...options, args: [...(options.args ?? []), ...args] }
      return { pool, run: { ...settings, transform: preset.value } }
    }
    if (command === undefined) {
      return yield* Either.left(
        new UsageError({ reason: "missing COMMAND: toolpool run [options] -- COMMAND [ARGS...], or --preset NAME" })
      )
    }
    const pool: Input = { framing: { _tag: "Lines" }, ...overrides, command, args }
    return { pool, run: { ...settings, transform: {} } }
  })

/** Pool option fields, by the flag that sets them, for messages about bad values. */
const flagOf: ReadonlyArray<[RegExp, string]> = [
  [/^command$/, "COMMAND"],
  [/^instances$/, "--instances"],
  [/^turnTimeout$/, "--timeout"],
  [/^maxMemory$/, "--max-memory"],
  [/^cwd$/, "--cwd"],
  [/^env\b/, "--env"],
  [/^framing\.(pattern|flags)$/, "--prompt"],
  [/^framing\.(command|marker)$/, "--sentinel"],
  [/^framing\.duration$/, "--quiet"],
  [/^framing\.endsTurn\b/, "--ends-turn"],
  [/^framing\b/, "--framing"]
]

/** The flag behind a pool option field, e.g. `--timeout` for `turnTimeout`. @internal */
export const flagFor = (field: string): string => flagOf.find(([pattern]) => pattern.test(field))?.[1] ?? field
