/**
 * The cluster commands at work: a runner serving its pool, and a batch sent to the runners.
 * Loaded only when one of them runs (see `./runner.ts`).
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Cluster from "../../Cluster.js"
import type { ConfigError } from "../../ToolPoolError.js"
import type { BatchError, Outcome, Target } from "./batch.js"
import { execute } from "./batch.js"
import { lines } from "./input.js"
import type { RunFlags } from "./options.js"
import { durationInput, flagFor, fromFlags, UsageError } from "./options.js"
import * as output from "./output.js"
import { presets } from "./presets.js"
import type { RunnerError, RunnerFlags } from "./runner.js"
import { ClusterFailed } from "./runner.js"

/** `HOST:PORT`, or `[IPv6]:PORT`. */
const address = (flag: string, text: string): Either.Either<Cluster.Address, UsageError> => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim())
  const host = match?.[1] ?? match?.[2]
  const port = Number(match?.[3])
  return host === undefined || !(port >= 1 && port <= 65535)
    ? Either.left(
      new UsageError({ reason: `${flag} must be HOST:PORT with a port from 1 to 65535, got ${JSON.stringify(text)}` })
    )
    : Either.right({ host, port })
}

const storageFrom = (flag: string, text: string) =>
  Either.mapLeft(Cluster.parseStorage(text), (reason) => new UsageError({ reason: `${flag}: ${reason}` }))

const tuningOf = (flags: { readonly lockExpiration: Option.Option<string> }): Partial<Cluster.Tuning> =>
  Option.match(flags.lockExpiration, {
    onNone: () => ({}),
    onSome: (text) => ({ lockExpiration: durationInput(text) })
  })

const failed = (what: string) => (error: { readonly message: string }) =>
  new ClusterFailed({ reason: `${what}: ${error.message}` })

/** @internal */
export const serve = (flags: RunnerFlags): Effect.Effect<void, RunnerError> =>
  Effect.gen(function*() {
    const storage = yield* storageFrom("--storage", flags.storage)
    const listen = yield* address("--listen", flags.listen)
    const advertise = Option.isSome(flags.advertise) ? yield* address("--advertise", flags.advertise.value) : listen
    if (Option.isNone(flags.advertise) && ["0.0.0.0", "::"].includes(listen.host)) {
      return yield* new UsageError({
        reason: `--listen ${flags.listen} listens everywhere: say where others reach it with --advertise`
      })
    }
    const { pool } = yield* fromFlags({
      ...flags,
      input: Option.none(),
      format: "auto",
      retries: 0,
      cluster: Option.none()
    })
    const runner = Cluster.layerRunner({ pool, storage, listen, advertise, tuning: tuningOf(flags) })
    yield* Effect.scoped(Effect.gen(function*() {
      yield* Layer.build(runner)
      yield* output.stderr(
        `toolpool runner: ${advertise.host}:${advertise.port} serves ${pool.instances ?? 1} instances of ` +
          `${pool.command} (listening on ${listen.host}:${listen.port}); stop it with Ctrl-C or SIGTERM\n`
      )
      return yield* Effect.never
    }))
  }).pipe(
    Effect.catchTags({
      ConfigError: (error) =>
        Effect.fail(
          "field" in error
            ? new UsageError({ reason: `invalid ${flagFor(error.field)}: ${error.reason}` })
            : failed("configuration")(error)
        ),
      SocketServerError: (error) => Effect.fail(failed(`cannot listen on ${flags.listen}`)(error)),
      SqlError: (error) => Effect.fail(failed("storage")(error))
    })
  )

/** Prompts whose session was rebuilt, or whose instance died, are sent again with `--retries`. */
const retriable = (error: { readonly _tag: string }) => error._tag === "SessionReset" || error._tag === "InstanceExited"

const instanceOf = (error: object): string | undefined =>
  "runner" in error && "instance" in error ? `${String(error.runner)}/${String(error.instance)}` : undefined

const clusterTarget = (
  storage: Cluster.Storage,
  flags: RunFlags
): Effect.Effect<Target, ClusterFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Cluster.layerClient({ storage, tuning: tuningOf(flags) })).pipe(
      Effect.mapError(failed("cannot join the cluster"))
    )
    const client = Context.get(context, Cluster.ClusterClient)
    const timeout = Option.map(flags.timeout, durationInput)
    const seen = new Set<string>()
    const retry = flags.retries > 0 ? Schedule.recurs(flags.retries) : Schedule.stop
    return {
      concurrency: flags.instances,
      submit: (input, key) =>
        client.submit(input, { key, ...(Option.isSome(timeout) ? { timeout: timeout.value } : {}) }).pipe(
          Effect.retry({ schedule: retry, while: retriable }),
          Effect.map((turned) => {
            const instance = `${turned.runner}/${turned.instance}`
            seen.add(instance)
            return { instance, output: turned.output }
          }),
          Effect.mapError((error) => {
            const instance = instanceOf(error)
            return { _tag: error._tag, message: error.message, ...(instance === undefined ? {} : { instance }) }
          })
        ),
      // the client sees the instances that answered, not the runners' pools
      health: Effect.sync(() => ({ up: seen.size, total: seen.size })),
      restarts: Effect.succeed(0),
      // the batch stops sending; turns in flight are interrupted on their runners
      shutdown: Effect.void
    }
  })

/** @internal */
export const runOnCluster = (
  flags: RunFlags,
  storageText: string
): Effect.Effect<Outcome, UsageError | ClusterFailed | Exclude<BatchError, ConfigError>, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const storage = yield* storageFrom("--cluster", storageText)
    if (flags.command.length > 0) {
      return yield* new UsageError({
        reason: `with --cluster the runners run the tool: remove ${JSON.stringify(flags.command.join(" "))}`
      })
    }
    if (flags.instances < 1) return yield* new UsageError({ reason: "--instances must be 1 or more" })
    const transform = Option.getOrUndefined(Option.flatMapNullable(flags.preset, (name) => presets[name])) ?? {}
    return yield* execute({
      target: clusterTarget(storage, flags),
      prompts: lines(flags.input, flags.format),
      countFile: flags.input,
      total: undefined,
      transform
    }).pipe(
      // no local pool, so no pool options to reject
      Effect.catchTag("ConfigError", (error) => Effect.fail(new UsageError({ reason: error.message })))
    )
  })
