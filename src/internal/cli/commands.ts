/**
 * The `toolpool` commands and what decides their exit code.
 * @internal
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import type { SpawnError } from "../../ToolPoolError.js"
import { version } from "../version.js"
import type { Batch, Outcome } from "./batch.js"
import { execute, localPool } from "./batch.js"
import * as demo from "./demo.js"
import type { InputError } from "./input.js"
import { lines } from "./input.js"
import type { RunFlags } from "./options.js"
import { flagFor, fromFlags, runConfig, UsageError } from "./options.js"
import * as output from "./output.js"
import type { ClusterFailed } from "./runner.js"
import { runner, runOnCluster } from "./runner.js"

/** Some prompts failed; each has its result line, and the summary counts them. @internal */
export class PromptsFailed extends Data.TaggedError("PromptsFailed")<{ readonly failed: number }> {
  override get message(): string {
    return `${this.failed} prompt${this.failed === 1 ? "" : "s"} failed`
  }
}

/** @internal */
export type CliError = UsageError | PromptsFailed | SpawnError | InputError | output.OutputError | ClusterFailed

/** @internal */
export type CliRequirements = FileSystem.FileSystem

/** Exit codes. @internal */
export const ExitCode = { ok: 0, failed: 1, usage: 2, SIGINT: 130, SIGTERM: 143 } as const

/** Spawn failures that mean the command line names something that cannot run. */
const badCommand: ReadonlyArray<SpawnError["reason"]> = ["NotFound", "PermissionDenied", "BadCwd"]

/** Options the pool rejects, and commands it cannot start, are usage errors, named by their flag. */
const runBatch = (batch: Batch): Effect.Effect<Outcome, Exclude<CliError, PromptsFailed>, CliRequirements> =>
  execute(batch).pipe(Effect.catchTags({
    ConfigError: (error) => Effect.fail(new UsageError({ reason: `invalid ${flagFor(error.field)}: ${error.reason}` })),
    SpawnError: (error) =>
      Effect.fail(badCommand.includes(error.reason) ? new UsageError({ reason: error.message }) : error)
  }))

/** @internal */
export const runHandler = (flags: RunFlags): Effect.Effect<void, CliError, CliRequirements> =>
  Effect.gen(function*() {
    if (Option.isSome(flags.cluster)) {
      const outcome = yield* runOnCluster(flags, flags.cluster.value)
      if (outcome.tally.failed > 0) return yield* new PromptsFailed({ failed: outcome.tally.failed })
      return
    }
    const { pool, run } = yield* fromFlags(flags)
    const outcome = yield* runBatch({
      target: localPool(pool, run.retries),
      prompts: lines(run.input, run.format),
      countFile: run.input,
      total: undefined,
      transform: run.transform
    })
    if (outcome.tally.failed > 0) return yield* new PromptsFailed({ failed: outcome.tally.failed })
  })

/** @internal */
export const demoHandler: Effect.Effect<void, CliError, CliRequirements> = Effect.gen(function*() {
  yield* output.stderr(demo.intro)
  const outcome = yield* runBatch(demo.batch)
  if (!demo.asExpected(outcome)) return yield* new PromptsFailed({ failed: outcome.tally.failed })
})

/** @internal */
export const run = Command.make("run", runConfig, runHandler).pipe(
  Command.withDescription(
    "Run every prompt of the input (a file, or stdin) on a pool of instances of COMMAND, and write one " +
      "JSON result per prompt to stdout as they complete. Exit code 0 when all succeeded, 1 when some failed, " +
      "2 on bad usage, 130/143 when stopped by SIGINT/SIGTERM."
  )
)

/** @internal */
export const demoCommand = Command.make("demo", {}, () => demoHandler).pipe(
  Command.withDescription(
    "The run command over the bundled mock tool (an aider look-alike), with a dozen prompts of its own, one " +
      "of which crashes its instance on purpose. Needs nothing installed. Exit code 0 when everything went as " +
      "expected, that crash included."
  )
)

/** @internal */
export const toolpool = Command.make("toolpool").pipe(
  Command.withDescription("A pool of long-running interactive command-line tools, driven over stdin/stdout."),
  Command.withSubcommands([run, demoCommand, runner])
)

/** Logs (`--log-level debug`) go to stderr: stdout is for results only. */
const stderrLogger = Logger.prettyLogger({ stderr: true })
const logToStderr = Layer.mergeAll(
  Logger.replace(Logger.defaultLogger, stderrLogger),
  Logger.replace(Logger.prettyLoggerDefault, stderrLogger)
)

/** @internal */
export const main = (
  args: ReadonlyArray<string>
): Effect.Effect<number, never, CliRequirements | CliApp.CliApp.Environment> =>
  Command.run(toolpool, { name: "toolpool", version, executable: "toolpool" })(["node", "toolpool", ...args]).pipe(
    Effect.as(ExitCode.ok),
    Effect.catchAll((error): Effect.Effect<number> => {
      if (ValidationError.isValidationError(error)) {
        // @effect/cli has printed what is wrong; say where to look for what is right.
        const help = args[0] === "run" || args[0] === "demo" || args[0] === "runner"
          ? `toolpool ${args[0]} --help`
          : "toolpool --help"
        return Effect.as(output.stderr(`See '${help}'.\n`), ExitCode.usage)
      }
      switch (error._tag) {
        case "PromptsFailed":
          return Effect.succeed(ExitCode.failed)
        case "UsageError":
          return Effect.as(output.stderr(`toolpool: ${error.message}\n`), ExitCode.usage)
        default:
          return Effect.as(output.stderr(`toolpool: ${error.message}\n`), ExitCode.failed)
      }
    }),
    Effect.provide(logToStderr)
  )
