/**
 * The `toolpool` command line, built with `@effect/cli`: `toolpool run` fans prompts read from a
 * file or stdin out over a pool and writes one JSON result per prompt; `toolpool demo` does the
 * same over the bundled mock tool. The commands are exported so that a program can embed them
 * in a command line of its own.
 *
 * @since 0.1.0
 */
import type * as CliApp from "@effect/cli/CliApp"
import type * as Command from "@effect/cli/Command"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as internal from "./internal/cli/commands.js"
import type { InputError } from "./internal/cli/input.js"
import type * as Options from "./internal/cli/options.js"
import type { OutputError } from "./internal/cli/output.js"
import type * as Runner from "./internal/cli/runner.js"
import type { SpawnError } from "./ToolPoolError.js"

/**
 * Why a command ended without success. `UsageError`: the command line makes no sense, or names
 * a tool that cannot be started (exit code 2). `PromptsFailed`: some prompts failed, each with
 * its result line (exit code 1). `SpawnError`, `InputError` (the input could not be read),
 * `OutputError` (stdout went away), `ClusterFailed` (a cluster command could not reach its storage, listen,
 * or load the cluster's packages): exit code 1.
 *
 * @since 0.1.0
 * @category errors
 */
export type CliError =
  | Options.UsageError
  | internal.PromptsFailed
  | SpawnError
  | InputError
  | OutputError
  | Runner.ClusterFailed

/**
 * What the commands need: a file system (to read prompts and write results); `NodeContext.layer`
 * provides it. The tools are started by the pool itself.
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements = FileSystem.FileSystem

/**
 * The exit codes of `toolpool`: all prompts succeeded, some failed, bad usage, and stopped by
 * SIGINT or SIGTERM (128 plus the signal number, as shells report it).
 *
 * @since 0.1.0
 * @category models
 */
export const ExitCode: {
  readonly ok: 0
  readonly failed: 1
  readonly usage: 2
  readonly SIGINT: 130
  readonly SIGTERM: 143
} = internal.ExitCode

/**
 * The options and arguments of `toolpool run`, as parsed.
 *
 * @since 0.1.0
 * @category models
 */
export type RunFlags = Options.RunFlags

/**
 * The options and arguments of `toolpool runner`, as parsed.
 *
 * @since 0.1.0
 * @category models
 */
export type RunnerFlags = Runner.RunnerFlags

/**
 * `toolpool run [options] [--] COMMAND [ARGS...]`: prompts from `--input FILE` or stdin, one per
 * line, as text or JSONL (`{"id": ..., "input": "..."}`), fanned out over `--instances`
 * instances of COMMAND (or of a known tool, `--preset python|node|bc|sqlite3|aider|claude-code`);
 * one JSON line per prompt on stdout, in completion order:
 * `{"id","instance","ok":true,"output","ms"}` or `{"id","instance","ok":false,"error":{"_tag","message"},"ms"}`.
 * Progress and a summary go to stderr. Interrupted (SIGINT, SIGTERM under `NodeRuntime.runMain`),
 * it reads no more prompts, lets those in flight finish within the pool's drain time, shuts the
 * pool down and prints the summary before the interruption completes.
 *
 * @since 0.1.0
 * @category commands
 */
export const run: Command.Command<"run", Requirements, CliError, RunFlags> = internal.run

/**
 * `toolpool demo`: `run` over the bundled mock tool with a dozen prompts, one of which crashes
 * its instance on purpose. Succeeds when everything went as expected, that crash included.
 *
 * @since 0.1.0
 * @category commands
 */
export const demo: Command.Command<"demo", Requirements, CliError, {}> = internal.demoCommand

/**
 * The root command, `toolpool`, with `run`, `demo` and `runner` as subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command: Command.Command<
  "toolpool",
  Requirements,
  CliError,
  { readonly subcommand: Option.Option<RunFlags | {} | RunnerFlags> }
> = internal.toolpool

/**
 * Runs the command line `args` (without the executable, e.g. `["run", "--", "bc", "-q"]`) and
 * returns the exit code it calls for; failures are reported on stderr, never as errors. An
 * interruption (a signal) is not turned into a code: the caller knows which signal it was.
 *
 * @example
 * ```ts
 * import { NodeContext, NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import * as Cli from "toolpool/Cli"
 *
 * // what the toolpool executable does, less the signal exit codes
 * NodeRuntime.runMain(
 *   Cli.main(process.argv.slice(2)).pipe(
 *     Effect.flatMap((code) => Effect.sync(() => (process.exitCode = code))),
 *     Effect.provide(NodeContext.layer)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const main: (
  args: ReadonlyArray<string>
) => Effect.Effect<number, never, Requirements | CliApp.CliApp.Environment> = internal.main
