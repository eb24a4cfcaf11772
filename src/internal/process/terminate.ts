/**
 * Signals to a tool's process group, through its transport. Every transport starts the tool as
 * the leader of its own group, so a signal to the group reaches its children too.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import type * as Transport from "../../Transport.js"
import { liveClock } from "../turn/deadline.js"

/**
 * Whether `effect` completed within `duration`, waiting for it in a fiber of its own: only the
 * time limit can cut the wait short, not an interruption of the caller. For the steps of
 * stopping a process, each of which must run whoever gives up on the stop. Real time, as
 * `within` in `pool/instance.ts`, even under a `TestClock`.
 * @internal
 */
export const waitUpTo = <A>(duration: Duration.Duration, effect: Effect.Effect<A>): Effect.Effect<boolean> =>
  Effect.uninterruptible(Effect.flatMap(
    Effect.forkDaemon(
      Effect.interruptible(effect).pipe(
        Effect.timeoutTo({ duration, onSuccess: () => true, onTimeout: () => false }),
        Effect.withClock(liveClock)
      )
    ),
    Fiber.join
  ))

/** Sends `signal` to the whole group; false when no process of the group is left. @internal */
export const signalGroup = (process: Transport.Process, signal: NodeJS.Signals | 0): Effect.Effect<boolean> =>
  Effect.sync(() => process.signal(signal, "group"))

/** Whether any process of the group is still alive. @internal */
export const groupAlive = (process: Transport.Process): Effect.Effect<boolean> => signalGroup(process, 0)

/**
 * Ends whatever is left of a group after its leader is gone (children a tool left
 * behind): SIGTERM, up to `killAfter` for them to go, then SIGKILL.
 * @internal
 */
export const reapGroup = (process: Transport.Process, killAfter: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!(yield* signalGroup(process, "SIGTERM"))) return
    const gone = yield* waitUpTo(
      killAfter,
      groupAlive(process).pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), while: (alive) => alive }))
    )
    if (!gone) yield* signalGroup(process, "SIGKILL")
  })

/**
 * Whether `effect` completed within `duration`. The wait is interruptible even inside an
 * uninterruptible region (such as `stop`), or the timeout could not cut it short.
 *
 * The pool's own housekeeping waits (a stop's escalation, healing, the drain) count real time
 * even under a `TestClock`: a test never has to advance the clock for the pool to tidy up.
 * @internal
 */
export const within = <A>(duration: Duration.Duration, effect: Effect.Effect<A>): Effect.Effect<boolean> =>
  Effect.interruptible(effect).pipe(
    Effect.timeoutTo({ duration, onSuccess: () => true, onTimeout: () => false }),
    Effect.withClock(liveClock)
  )
