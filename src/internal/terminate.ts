/**
 * Signals to a tool's process group. Every tool is spawned as the leader of its own group
 * (the executor spawns it detached), so signalling `-pid` reaches its children too.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"

/**
 * Whether `effect` completed within `duration`, waiting for it in a fiber of its own: only the
 * time limit can cut the wait short, not an interruption of the caller. For the steps of
 * stopping a process, each of which must run whoever gives up on the stop.
 * @internal
 */
export const waitUpTo = <A>(duration: Duration.Duration, effect: Effect.Effect<A>): Effect.Effect<boolean> =>
  Effect.uninterruptible(Effect.flatMap(
    Effect.forkDaemon(
      Effect.interruptible(effect).pipe(Effect.timeoutTo({ duration, onSuccess: () => true, onTimeout: () => false }))
    ),
    Fiber.join
  ))

/** Sends `signal` to the whole group; false when no process of the group is left. @internal */
export const signalGroup = (pid: number, signal: NodeJS.Signals | 0): Effect.Effect<boolean> =>
  Effect.sync(() => {
    try {
      process.kill(-pid, signal)
      return true
    } catch {
      return false
    }
  })

/** Whether any process of the group is still alive. @internal */
export const groupAlive = (pid: number): Effect.Effect<boolean> => signalGroup(pid, 0)

/**
 * Ends whatever is left of a group after its leader is gone (children a tool left
 * behind): SIGTERM, up to `killAfter` for them to go, then SIGKILL.
 * @internal
 */
export const reapGroup = (pid: number, killAfter: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!(yield* signalGroup(pid, "SIGTERM"))) return
    const gone = yield* waitUpTo(
      killAfter,
      groupAlive(pid).pipe(Effect.repeat({ schedule: Schedule.spaced("10 millis"), while: (alive) => alive }))
    )
    if (!gone) yield* signalGroup(pid, "SIGKILL")
  })

/** Sends `signal` to the tool alone, not its group (an interrupt meant for the tool). @internal */
export const signalProcess = (pid: number, signal: NodeJS.Signals): Effect.Effect<boolean> =>
  Effect.sync(() => {
    try {
      process.kill(pid, signal)
      return true
    } catch {
      return false
    }
  })
