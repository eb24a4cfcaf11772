/**
 * The escalating stop of one incarnation: stdin closed, SIGTERM to its group, SIGKILL, then what
 * the tool left behind.
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Scope from "effect/Scope"
import type { PoolOptions } from "../../PoolOptions.js"
import { reapGroup, signalGroup, waitUpTo } from "../process/terminate.js"
import type { Incarnation } from "./instance.js"

/**
 * Stops the process and everything it started: close stdin, wait `grace`; SIGTERM the group,
 * wait `killAfter`; SIGKILL the group. Whatever the tool does, this ends in about
 * grace + killAfter + a moment.
 * @internal
 */
export const stop = (inc: Incarnation, options: PoolOptions): Effect.Effect<void> =>
  Effect.suspend(() => {
    // One stop per process: a second caller (a shutdown while a restart stops it) waits for it.
    if (inc.stopped !== undefined) return Deferred.await(inc.stopped)
    const stopped = Deferred.unsafeMake<void>(FiberId.none)
    inc.stopped = stopped
    return stopOnce(inc, options).pipe(Effect.ensuring(Deferred.succeed(stopped, undefined)))
  }).pipe(Effect.uninterruptible)

const stopOnce = (inc: Incarnation, options: PoolOptions): Effect.Effect<void> =>
  Effect.gen(function*() {
    inc.stopping = true
    // Each wait is cut short by its time limit only: a caller who gives up does not stop the stop.
    const exitedWithin = (duration: Duration.Duration) => waitUpTo(duration, Deferred.await(inc.exited))
    // The children's time to go after the group's SIGTERM: killAfter, counted from the one
    // SIGTERM the group gets, so that a child does not get a second killAfter of its own.
    let childrenMay = options.killAfter
    if (!(yield* Deferred.isDone(inc.exited))) {
      // what was written goes out, then stdin closes
      inc.stdin.end()
      if (!(yield* exitedWithin(options.grace))) {
        yield* signalGroup(inc.process, "SIGTERM")
        const terminatedAt = Date.now()
        if (!(yield* exitedWithin(options.killAfter))) {
          yield* signalGroup(inc.process, "SIGKILL")
          yield* exitedWithin(Duration.seconds(2))
        }
        childrenMay = Duration.millis(Math.max(0, Duration.toMillis(options.killAfter) - (Date.now() - terminatedAt)))
      }
    }
    // The tool is gone; its children may not be.
    yield* reapGroup(inc.process, childrenMay)
    inc.lifeline.release(inc.process.group)
    // Let the exit be reported (to the caller of a turn in flight, among others) before the
    // scope goes, taking the watcher with it.
    if (inc.watcher !== undefined) yield* waitUpTo(Duration.seconds(1), Fiber.await(inc.watcher))
    // The executor's own finalizer waits for the exit without a limit; never let it hold us.
    yield* waitUpTo(Duration.seconds(1), Effect.disconnect(Scope.close(inc.scope, Exit.void)))
    inc.live.delete(inc)
  }).pipe(Effect.uninterruptible)
