/**
 * A batch: prompts streamed from the input, fanned out over a pool with `submit`, results written
 * as they complete, progress and a summary on stderr.
 *
 * Stopping (the run fiber is interrupted, as `NodeRuntime.runMain` does on SIGINT and SIGTERM)
 * is graceful: the batch runs in a fiber of its own, which is told to stop instead of being
 * interrupted. It reads no more prompts, shuts the pool down (turns in flight get the pool's
 * `drain` time to finish, then fail as their instances stop), writes the results it has, and
 * prints the summary.
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Input } from "../../PoolOptions.js"
import * as ToolPool from "../../ToolPool.js"
import type { ConfigError, SpawnError } from "../../ToolPoolError.js"
import type { InputError, Line } from "./input.js"
import { countPrompts } from "./input.js"
import * as output from "./output.js"
import { report } from "./progress.js"
import { summary, Tally } from "./stats.js"

/**
 * What a batch runs its prompts on: a local pool (the default), or a cluster of them.
 * @internal
 */
export interface Target {
  /** How many prompts run at once. */
  readonly concurrency: number
  /** One prompt's turn: the instance that answered (a number, or `runner/instance`) and its output. */
  readonly submit: (
    input: string,
    key: string | undefined
  ) => Effect.Effect<
    { readonly instance: number | string; readonly output: string },
    { readonly _tag: string; readonly message: string; readonly instance?: number | string }
  >
  /** For progress: instances up, of how many. */
  readonly health: Effect.Effect<{ readonly up: number; readonly total: number }>
  /** For the summary. */
  readonly restarts: Effect.Effect<number>
  /** Takes no more turns; those in flight end by the pool's `drain` time. */
  readonly shutdown: Effect.Effect<void>
}

/** What a batch runs. @internal */
export interface Batch<E = never> {
  /** Where the prompts run, ready for them once this completes: `localPool`, or a cluster. */
  readonly target: Effect.Effect<Target, BatchError | E, Scope.Scope>
  readonly prompts: Stream.Stream<Line, InputError, FileSystem.FileSystem>
  /** A file to count the prompts of, for progress, while the batch runs. */
  readonly countFile: Option.Option<string>
  /** Known in advance (the demo's). */
  readonly total: number | undefined
  /** Rewrites a prompt into the line the tool wants, and a response into what to report. */
  readonly transform: {
    readonly input?: ((prompt: string) => string) | undefined
    readonly output?: ((response: string) => string) | undefined
  }
}

/** How a batch ended. @internal */
export interface Outcome {
  readonly tally: Tally
  /** Told to stop before the input was done. */
  readonly stopped: boolean
  readonly restarts: number
}

/** @internal */
export type BatchError = ConfigError | SpawnError | InputError | output.OutputError

const elapsedSince = (startNanos: bigint) => Effect.map(Clock.currentTimeNanos, (now) => Number(now - startNanos) / 1e6)

/**
 * A pool on this machine. `retries`: a prompt whose instance died under it is sent again, up to
 * that many times.
 * @internal
 */
export const localPool = (options: Input, retries: number): Effect.Effect<Target, BatchError, Scope.Scope> =>
  Effect.map(ToolPool.make(options), (pool) => {
    const { instances, startTimeout, turnTimeout } = pool.options
    const submitOptions: ToolPool.SubmitOptions = {
      // Callers wait for an instance only while one restarts or, with a key, while theirs is busy.
      acquireTimeout: Duration.sum(turnTimeout, startTimeout),
      ...(retries > 0 ? { retry: Schedule.recurs(retries) } : {})
    }
    return {
      concurrency: instances,
      submit: (input, key) => pool.submit(input, { ...submitOptions, key }),
      health: Effect.map(pool.health, (h) => ({ up: h.alive, total: h.total })),
      restarts: Effect.map(pool.status, (all) => all.reduce((sum, s) => sum + s.restarts, 0)),
      shutdown: pool.shutdown
    }
  })

const runBatch = <E>(
  batch: Batch<E>,
  stop: Deferred.Deferred<void>
): Effect.Effect<Outcome, BatchError | E, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    yield* output.guardStdio
    const tally = new Tally()
    tally.total = batch.total
    // Told to stop while the instances start: stop starting them (the scope stops what did).
    const started = yield* Effect.raceFirst(
      Effect.map(batch.target, Option.some),
      Effect.as(Deferred.await(stop), Option.none<Target>())
    )
    if (Option.isNone(started)) {
      yield* output.stderr("toolpool: stopped while the instances started; no prompt was run\n")
      return { tally, stopped: true, restarts: 0 }
    }
    const pool = started.value

    const startNanos = yield* Clock.currentTimeNanos
    if (Option.isSome(batch.countFile)) {
      yield* countPrompts(batch.countFile.value).pipe(
        Effect.tap((n) => Effect.sync(() => (tally.total = n))),
        Effect.ignore,
        Effect.forkScoped
      )
    }
    const progress = yield* Effect.fork(report(tally, pool.health, Number(startNanos / 1_000_000n)))
    // From the stop signal on, the pool takes no new turns and ends those in flight by `drain`.
    // At the end of the input, the same fiber shuts it down.
    const stopping = yield* Effect.forkScoped(Effect.zipRight(Deferred.await(stop), pool.shutdown))

    const handle = (line: Line): Effect.Effect<output.Result> => {
      tally.read++
      if (line._tag === "BadLine") {
        return Effect.succeed({
          id: line.id,
          instance: null,
          ok: false,
          error: { _tag: "BadInput", message: line.reason },
          ms: 0
        })
      }
      return Effect.gen(function*() {
        const start = yield* Clock.currentTimeNanos
        const input = batch.transform.input?.(line.input) ?? line.input
        const result = yield* Effect.either(pool.submit(input, line.key))
        const ms = Math.round((yield* elapsedSince(start)) * 10) / 10
        return Either.match(result, {
          onLeft: (error): output.Result => ({
            id: line.id,
            instance: error.instance ?? null,
            ok: false,
            error: { _tag: error._tag, message: error.message },
            ms
          }),
          onRight: ({ instance, output }): output.Result => ({
            id: line.id,
            instance,
            ok: true,
            output: batch.transform.output?.(output) ?? output,
            ms
          })
        })
      })
    }

    const processed = yield* batch.prompts.pipe(
      Stream.interruptWhen(Deferred.await(stop)),
      // As many turns at once as there are instances: none waits long for one, so `ms` is the turn.
      // Prompts already read when the stop came (a chunk holds many) are dropped, not run.
      Stream.mapEffect(
        (line) =>
          Effect.flatMap(
            Deferred.isDone(stop),
            (stopped) => stopped ? Effect.succeedNone : Effect.asSome(handle(line))
          ),
        { concurrency: pool.concurrency, unordered: true }
      ),
      Stream.filterMap((result) => result),
      Stream.tap((result) =>
        Effect.sync(() =>
          result.ok
            ? tally.record(result.ms, undefined)
            : tally.record(result.error._tag === "BadInput" ? undefined : result.ms, result.error._tag)
        )
      ),
      Stream.map(output.resultLine),
      Stream.runForEachChunk((lines) => output.stdout(Chunk.join(lines, ""))),
      Effect.exit
    )
    const stopped = yield* Deferred.isDone(stop)
    if (!stopped && processed._tag === "Success") tally.total = tally.read

    const elapsed = yield* elapsedSince(startNanos)
    const restarts = yield* pool.restarts
    // Shut down by the fiber that may have started already, and never interrupt it: an interrupted
    // shutdown would leave instances running.
    yield* Deferred.succeed(stop, undefined)
    yield* Fiber.join(stopping)
    yield* Fiber.interrupt(progress)
    yield* output.stderr(summary(tally, elapsed, restarts, stopped))
    yield* processed
    return { tally, stopped, restarts }
  }).pipe(Effect.scoped)

/**
 * Runs a batch to its end. Interrupted, it stops taking prompts and finishes as described at the
 * top of this module before the interruption completes.
 * @internal
 */
export const execute = <E = never>(
  batch: Batch<E>
): Effect.Effect<Outcome, BatchError | E, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const stop = yield* Deferred.make<void>()
    // A daemon, so that interrupting this fiber does not interrupt it: it is awaited below.
    const worker = yield* Effect.forkDaemon(runBatch(batch, stop))
    return yield* Fiber.join(worker).pipe(
      Effect.onInterrupt(() => Deferred.succeed(stop, undefined).pipe(Effect.zipRight(Fiber.await(worker))))
    )
  })
