/**
 * `toolpool runner`: one runner of a cluster, serving a pool of COMMAND until SIGINT/SIGTERM.
 *
 * Only the command line is defined here; the work is in `./cluster.js`, loaded when a cluster
 * command runs, so that the rest of the command line needs none of the cluster's packages.
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { SpawnError } from "../../ToolPoolError.js"
import type { RunFlags, UsageError } from "./options.js"
import { runConfig } from "./options.js"

/** The cluster could not be joined or served: storage, socket, or the packages missing. @internal */
export class ClusterFailed extends Data.TaggedError("ClusterFailed")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const {
  cols,
  command,
  cwd,
  endsTurn,
  env,
  framing,
  instances,
  lockExpiration,
  maxMemory,
  preset,
  prompt,
  pty,
  quiet,
  rows,
  sentinel,
  stderr,
  timeout
} = runConfig

/** The options and arguments of `toolpool runner`. @internal */
export const runnerConfig = {
  storage: Options.text("storage").pipe(
    Options.withPseudoName("STORAGE"),
    Options.withDescription(
      "Where the runners of the cluster register and lock their shards: sqlite:FILE (every runner and " +
        "client on this machine opens FILE) or postgres:URL (several machines)."
    )
  ),
  listen: Options.text("listen").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.withDescription(
      "Where to listen for the other runners and the clients. The port speaks unauthenticated msgpack: " +
        "bind it where no untrusted peer can reach it (127.0.0.1, or a private network)."
    )
  ),
  advertise: Options.text("advertise").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.withDescription("Where the others reach this runner (default: --listen); its name in results."),
    Options.optional
  ),
  lockExpiration,
  preset,
  instances,
  framing,
  prompt,
  sentinel,
  quiet,
  endsTurn,
  timeout,
  maxMemory,
  pty,
  cols,
  rows,
  stderr,
  cwd,
  env,
  command
} as const

/** The parsed options of `toolpool runner`. @internal */
export type RunnerFlags = Command.Command.ParseConfig<typeof runnerConfig>

/** @internal */
export type RunnerError = UsageError | SpawnError | ClusterFailed

/** @internal */
export const serve = (flags: RunnerFlags): Effect.Effect<void, RunnerError> =>
  Effect.flatMap(Effect.promise(() => import("./cluster.js")), (cluster) => cluster.serve(flags))

/** `toolpool run --cluster`: the batch of `run`, sent to the cluster. @internal */
export const runOnCluster = (flags: RunFlags, storage: string) =>
  Effect.flatMap(Effect.promise(() => import("./cluster.js")), (cluster) => cluster.runOnCluster(flags, storage))

/** @internal */
export const runner = Command.make("runner", runnerConfig, serve).pipe(
  Command.withDescription(
    "Serve a pool of instances of COMMAND as one runner of a cluster (see docs/cluster.md), until SIGINT or " +
      "SIGTERM: then hand its sessions over to the other runners and stop every instance. Clients send work " +
      "with 'toolpool run --cluster STORAGE' or toolpool/Cluster."
  )
)
