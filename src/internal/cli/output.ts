/**
 * Where a run writes: JSONL results on stdout, progress and the summary on stderr.
 * @internal
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** One prompt's outcome, as one JSON line on stdout. @internal */
export type Result =
  | {
    readonly id: string | number
    /** A number; on a cluster, `runner/instance`. */
    readonly instance: number | string
    readonly ok: true
    readonly output: string
    readonly ms: number
  }
  | {
    readonly id: string | number
    readonly instance: number | string | null
    readonly ok: false
    readonly error: { readonly _tag: string; readonly message: string }
    readonly ms: number
  }

/** stdout went away (a closed pipe, `| head`): the run cannot report any more. @internal */
export class OutputError extends Data.TaggedError("OutputError")<{ readonly reason: string }> {
  override get message(): string {
    return `cannot write results to stdout: ${this.reason}`
  }
}

const write = (stream: NodeJS.WriteStream, text: string): Effect.Effect<void, OutputError> =>
  Effect.async<void, OutputError>((resume) => {
    // The callback fires once the data is handed over: waiting for it is the back-pressure.
    stream.write(text, (error) => resume(error ? Effect.fail(new OutputError({ reason: error.message })) : Effect.void))
  })

/** @internal */
export const stdout = (text: string): Effect.Effect<void, OutputError> => write(process.stdout, text)

/** Progress and the summary: best effort, a closed stderr does not stop the run. @internal */
export const stderr = (text: string): Effect.Effect<void> => Effect.ignore(write(process.stderr, text))

/** @internal */
export const stderrIsTTY = (): boolean => process.stderr.isTTY === true

/**
 * While in scope, a failed write on stdout or stderr (EPIPE once the reader is gone) is
 * reported to the write's callback only, instead of crashing the process as an unhandled
 * 'error' event.
 * @internal
 */
export const guardStdio: Effect.Effect<void, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const ignore = () => {}
    process.stdout.on("error", ignore)
    process.stderr.on("error", ignore)
    return ignore
  }),
  (ignore) =>
    Effect.sync(() => {
      process.stdout.off("error", ignore)
      process.stderr.off("error", ignore)
    })
).pipe(Effect.asVoid)

/** @internal */
export const resultLine = (result: Result): string => JSON.stringify(result) + "\n"
