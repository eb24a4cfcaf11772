/**
 * A turn's deadline as one timer, instead of `Effect.timeoutFail` around the turn.
 *
 * `Effect.timeoutFail` races the turn against a sleep in two new fibers; on this kind of
 * machine that was the largest single cost of a turn (about 70 us of CPU, against 1.5 us for a
 * timer). Here the turn runs on its caller's fiber, and the timer ends whatever the turn is
 * waiting for: every wait of a turn (the instance's lock, its next response, room in its stdin)
 * is an `Effect.async` registered through `wait`, which the timer fails with the timeout error.
 * Waits that are not ours (rare paths: an instance still starting, a JSON-RPC answer) go through
 * `bound`, which is `Effect.timeoutFail` with the time left.
 *
 * Under a clock other than the live one (a `TestClock`), `withDeadline` uses
 * `Effect.timeoutFail` itself, so that the deadline follows that clock as before.
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** The clock of the default services; any other (a `TestClock`) gets the general path. @internal */
export const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** Longer than this, `setTimeout` fires at once; Effect's clock treats it as no deadline too. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * Undoes a registration: called when the wait ends some other way (the deadline passed, the
 * waiting fiber was interrupted).
 * @internal
 */
export type Unregister = () => void

/**
 * How a wait is registered: `wake` is called, at most once, with what the waiting fiber is to
 * run next. Wake it with an effect that takes what it waited for, rather than with the thing
 * itself: a fiber interrupted between its wake-up and its next step then leaves it where it was.
 * @internal
 */
export type Register<A, E> = (wake: (next: Effect.Effect<A, E>) => void) => Unregister

/** @internal */
export class Deadline<T> {
  /** Set once the time is up; every later wait fails at once. */
  expired = false
  private readonly at: number
  private readonly timer: ReturnType<typeof setTimeout> | undefined
  /** Ends the wait in progress, if any, with the timeout error. */
  private expire: (() => void) | undefined

  constructor(millis: number, readonly error: () => T) {
    this.at = performance.now() + millis
    this.timer = millis > MAX_TIMER_MILLIS ? undefined : setTimeout(() => {
      this.expired = true
      this.expire?.()
    }, millis)
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.expire = undefined
  }

  /** Suspends until woken, or fails with the timeout error if the deadline passes first. */
  wait<A, E>(register: Register<A, E>): Effect.Effect<A, E | T> {
    return Effect.async<A, E | T>((resume) => {
      if (this.expired) return resume(Effect.fail(this.error()))
      const unregister = register((next) => {
        this.expire = undefined
        resume(next)
      })
      this.expire = () => {
        this.expire = undefined
        unregister()
        resume(Effect.fail(this.error()))
      }
      return Effect.sync(() => {
        this.expire = undefined
        unregister()
      })
    })
  }

  /** A wait that cannot register with the deadline, bounded by the time left. */
  bound<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | T, R> {
    return Effect.suspend(() => {
      if (this.expired) return Effect.fail(this.error())
      const left = Math.max(0, this.at - performance.now())
      return Effect.timeoutFail(effect, { duration: Duration.millis(left), onTimeout: this.error })
    })
  }
}

/**
 * A wait with or without a deadline: `register` as for `Deadline.wait`.
 * @internal
 */
export const wait = <A, E, T = never>(
  deadline: Deadline<T> | undefined,
  register: Register<A, E>
): Effect.Effect<A, E | T> =>
  deadline !== undefined
    ? deadline.wait(register)
    : Effect.async<A, E>((resume) => {
      const unregister = register(resume)
      return Effect.sync(unregister)
    })

/** `Deadline.bound`, or `effect` itself without a deadline. @internal */
export const bound = <A, E, R, T = never>(
  deadline: Deadline<T> | undefined,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | T, R> => deadline === undefined ? effect : deadline.bound(effect)

/**
 * Runs `body` with a deadline of `duration`: its waits fail with `onTimeout()` once the time is
 * up. `body` gets no deadline object under a clock other than the live one; the whole of it is
 * then bounded by `Effect.timeoutFail`, which asks that clock.
 * @internal
 */
export const withDeadline = <A, E, R, T>(
  duration: Duration.Duration,
  onTimeout: () => T,
  body: (deadline: Deadline<T> | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | T, R> =>
  Effect.clockWith((clock) => {
    if (clock !== liveClock) return Effect.timeoutFail(body(undefined), { duration, onTimeout })
    return Effect.suspend(() => {
      const deadline = new Deadline(Duration.toMillis(duration), onTimeout)
      return Effect.ensuring(
        body(deadline),
        Effect.sync(() => deadline.clear())
      )
    })
  })
