/**
 * A process started through a transport, with everything it reported recorded: what the
 * conformance suite (test/internal/process/conformance.ts) asserts on.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Transport } from "../../src/index.js"

export interface Exit {
  readonly code: number | null
  readonly signal: string | null
}

export interface Watched {
  readonly process: Transport.Process
  /** All stdout so far, as bytes and as UTF-8 text. */
  readonly stdout: () => Buffer
  readonly text: () => string
  readonly stderr: () => string
  readonly exit: Deferred.Deferred<Exit>
  readonly closed: Deferred.Deferred<void>
  readonly stdinError: Deferred.Deferred<Error>
  /** Waits until stdout satisfies `done` (fails after 20 s, saying what was there). */
  readonly until: (what: string, done: (text: string, bytes: Buffer) => boolean) => Effect.Effect<void, Error>
  /** SIGKILL to the group, then the exit. */
  readonly stop: Effect.Effect<void, Error>
}

export interface WatchOptions {
  /** Called after each stdout chunk with the bytes received so far. */
  readonly onStdout?: (received: number, process: Transport.Process) => void
  /** Stop the process (SIGKILL to its group) when the scope closes, before the transport's own finalizer. */
  readonly stopOnClose?: boolean
}

const limit = Duration.seconds(20)

export const spec = (
  command: string,
  args: ReadonlyArray<string> = [],
  options: Partial<Transport.Spec> = {}
): Transport.Spec => ({ instance: 0, command, args, cwd: undefined, env: {}, extendEnv: true, ...options })

export const watch = (
  transport: Transport.Transport,
  toStart: Transport.Spec,
  options: WatchOptions = {}
): Effect.Effect<Watched, Transport.TransportError, Scope.Scope> =>
  Effect.gen(function*() {
    const process = yield* transport.spawn(toStart)
    const exit = yield* Deferred.make<Exit>()
    const closed = yield* Deferred.make<void>()
    const stdinError = yield* Deferred.make<Error>()
    const chunks: Array<Buffer> = []
    const errors: Array<Buffer> = []
    let received = 0
    const waiters = new Set<() => void>()
    const stdout = () => Buffer.concat(chunks)
    const text = () => stdout().toString("utf8")
    process.listen({
      stdout: (bytes) => {
        chunks.push(Buffer.from(bytes))
        received += bytes.length
        options.onStdout?.(received, process)
        for (const waiter of waiters) waiter()
      },
      stderr: (bytes) => {
        errors.push(Buffer.from(bytes))
      },
      closed: () => Deferred.unsafeDone(closed, Effect.void),
      stdinError: (error) => Deferred.unsafeDone(stdinError, Effect.succeed(error)),
      exit: (code, signal) => Deferred.unsafeDone(exit, Effect.succeed({ code, signal }))
    })
    const until = (what: string, done: (text: string, bytes: Buffer) => boolean) =>
      Effect.async<void>((resume) => {
        const check = () => {
          const bytes = stdout()
          if (done(bytes.toString("utf8"), bytes)) {
            waiters.delete(check)
            resume(Effect.void)
          }
        }
        waiters.add(check)
        check()
        return Effect.sync(() => waiters.delete(check))
      }).pipe(
        Effect.timeoutFail({
          duration: limit,
          onTimeout: () => new Error(`no ${what} on stdout; it ends with ${JSON.stringify(text().slice(-300))}`)
        })
      )
    const stop = Effect.suspend(() => {
      process.signal("SIGKILL", "group")
      return Deferred.await(exit)
    }).pipe(
      Effect.timeoutFail({ duration: limit, onTimeout: () => new Error("no exit after SIGKILL") }),
      Effect.asVoid
    )
    if (options.stopOnClose ?? true) yield* Effect.addFinalizer(() => Effect.ignore(stop))
    return {
      process,
      stdout,
      text,
      stderr: () => Buffer.concat(errors).toString("utf8"),
      exit,
      closed,
      stdinError,
      until,
      stop
    }
  })

/** Waits for a value with a limit, failing with `what` rather than hanging the test. */
export const within = <A>(what: string, deferred: Deferred.Deferred<A>): Effect.Effect<A, Error> =>
  Deferred.await(deferred).pipe(
    Effect.timeoutFail({ duration: limit, onTimeout: () => new Error(`no ${what}`) })
  )

/** Retries `check` every 20 ms until it holds (fails after 20 s with `what`). */
export const eventually = (what: string, check: () => boolean): Effect.Effect<void, Error> =>
  Effect.suspend(() => (check() ? Effect.void : Effect.fail(new Error(`not yet: ${what}`)))).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo(limit)))
  )
