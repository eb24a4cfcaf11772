/**
 * The lock that makes an instance run one turn at a time, in the order the turns came.
 *
 * Not `Effect.Semaphore`, because a turn's deadline (`deadline.ts`) must be able to end the
 * wait for the lock without a racing fiber. The lock passes straight from the turn that
 * releases it to the first waiter; a waiter that fails or is interrupted after it was handed the
 * lock (before it could run) passes it on in turn, so the lock is never left held by nobody.
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Deadline } from "./deadline.js"
import { wait } from "./deadline.js"

interface Waiter {
  /** Set when the lock was handed to this waiter. */
  handed: boolean
  wake: () => void
}

/** @internal */
export class TurnLock {
  private held = false
  private readonly waiters: Array<Waiter> = []

  /** Waits for the lock (until the deadline, if any) and holds it until `release`. */
  take<T = never>(deadline?: Deadline<T>): Effect.Effect<void, T> {
    return Effect.suspend(() => {
      if (!this.held) {
        this.held = true
        return Effect.void
      }
      const waiter: Waiter = { handed: false, wake: () => {} }
      return wait<void, never, T>(deadline, (wake) => {
        waiter.wake = () => {
          waiter.handed = true
          wake(Effect.void)
        }
        this.waiters.push(waiter)
        return () => {
          const at = this.waiters.indexOf(waiter)
          if (at !== -1) this.waiters.splice(at, 1)
        }
      }).pipe(Effect.onExit((exit) => exit._tag === "Failure" && waiter.handed ? this.release : Effect.void))
    })
  }

  /** Takes the lock if it is free; never waits. */
  tryTake(): boolean {
    if (this.held) return false
    this.held = true
    return true
  }

  /** Hands the lock to the first waiter, or frees it. */
  unsafeRelease(): void {
    const next = this.waiters.shift()
    if (next === undefined) this.held = false
    else next.wake()
  }

  /** `unsafeRelease` as an effect. */
  readonly release: Effect.Effect<void> = Effect.sync(() => this.unsafeRelease())

  /** Runs `self` holding the lock (waiting for it until the deadline, if any). */
  withLock<A, E, R, T = never>(self: Effect.Effect<A, E, R>, deadline?: Deadline<T>): Effect.Effect<A, E | T, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(restore(this.take(deadline)), Effect.ensuring(restore(self), this.release))
    )
  }
}
