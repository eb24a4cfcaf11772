/**
 * Progress on stderr while a run goes: a line redrawn in place on a terminal, a plain line every
 * two seconds otherwise (a log file gets no flood, and a short run prints none at all).
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as output from "./output.js"
import type { Tally } from "./stats.js"
import { rate } from "./stats.js"

/** Instances with a live process, of all. @internal */
export interface Up {
  readonly up: number
  readonly total: number
}

/** @internal */
export const progressLine = (tally: Tally, up: Up, elapsedMs: number): string =>
  [
    tally.total === undefined ? `${tally.done} done` : `${tally.done}/${tally.total} done`,
    rate(tally.done, elapsedMs),
    `${tally.failed} failed`,
    `${up.up}/${up.total} instances up`
  ].join(", ")

/**
 * Reports until interrupted; on a terminal the line is then erased, so that the summary
 * takes its place.
 * @internal
 */
export const report = (tally: Tally, up: Effect.Effect<Up>, startedAt: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    const line = Effect.zipWith(up, Clock.currentTimeMillis, (up, now) => progressLine(tally, up, now - startedAt))
    if (!output.stderrIsTTY()) {
      return yield* line.pipe(
        Effect.flatMap((text) => output.stderr(`toolpool: ${text}\n`)),
        Effect.delay("2 seconds"),
        Effect.forever
      )
    }
    const width = Math.max(20, (process.stderr.columns || 80) - 1)
    return yield* line.pipe(
      Effect.flatMap((text) => output.stderr(`\r${text.slice(0, width)}\x1b[K`)),
      Effect.repeat(Schedule.spaced("200 millis")),
      Effect.onInterrupt(() => output.stderr("\r\x1b[K"))
    )
  }).pipe(Effect.asVoid)
