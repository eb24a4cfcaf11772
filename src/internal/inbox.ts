/**
 * The responses of an instance that no turn has taken yet: a bounded FIFO from the stdout
 * reader (one producer) to the turns (one at a time, under the instance's lock).
 *
 * Not `Queue`: a `Queue.take` that has to wait makes a `Deferred`, and `Deferred.make` alone
 * costs several microseconds in effect 3.22 (it spreads the whole Effect prototype into a new
 * object); a turn waits for its response every time. Not `Mailbox` either: its waits cannot be
 * ended by a turn's deadline (`deadline.ts`). This is an array, the waiting takers (in practice
 * one) and the waiting producer, each an `Effect.async`.
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Deadline } from "./deadline.js"
import { wait } from "./deadline.js"

/** @internal */
export class Inbox<A, E> {
  private items: Array<A> = []
  private head = 0
  private failure: E | undefined
  /** Wake the fibers waiting for an item, first come first served. */
  private takers: Array<() => void> = []
  /** Wakes the producer waiting for room, if it waits. */
  private producer: (() => void) | undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head
  }

  /** The error takers get once the items are gone, if the inbox was failed. */
  get error(): E | undefined {
    return this.failure
  }

  /**
   * Adds items; the producer then waits while more than `capacity` are unread (so memory stays
   * bounded by about one chunk's worth past the capacity). Items added after `fail` are dropped.
   */
  offerAll(items: ReadonlyArray<A>): Effect.Effect<void> {
    if (this.failure !== undefined || items.length === 0) return Effect.void
    for (const item of items) {
      this.items.push(item)
      this.wakeTaker()
    }
    return this.size <= this.capacity ? Effect.void : this.roomWait
  }

  private readonly roomWait: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.size <= this.capacity || this.failure !== undefined) return resume(Effect.void)
    this.producer = () => resume(Effect.void)
    return Effect.sync(() => {
      this.producer = undefined
    })
  })

  /** The next item; fails with the inbox's error once it was failed and is empty. */
  take<T = never>(deadline?: Deadline<T>): Effect.Effect<A, E | T> {
    return Effect.suspend(() => {
      const taken = this.poll()
      if (taken !== undefined) return taken
      return wait<A, E | T, T>(deadline, (wake) => {
        const taker = () => wake(this.take(deadline))
        this.takers.push(taker)
        return () => {
          const at = this.takers.indexOf(taker)
          if (at !== -1) this.takers.splice(at, 1)
        }
      })
    })
  }

  private poll(): Effect.Effect<A, E> | undefined {
    if (this.head < this.items.length) {
      const item = this.items[this.head] as A
      this.items[this.head] = undefined as A
      this.head++
      if (this.head === this.items.length) {
        this.items = []
        this.head = 0
      }
      this.wakeProducer()
      return Effect.succeed(item)
    }
    return this.failure === undefined ? undefined : Effect.fail(this.failure)
  }

  /** Removes every unread item; returns how many there were. */
  clear(): number {
    const dropped = this.size
    this.items = []
    this.head = 0
    this.wakeProducer()
    return dropped
  }

  /** After the items already in, takers get `error`; the first failure wins. */
  fail(error: E): void {
    if (this.failure !== undefined) return
    this.failure = error
    for (const taker of this.takers.splice(0)) taker()
    this.wakeProducer()
  }

  private wakeTaker(): void {
    this.takers.shift()?.()
  }

  private wakeProducer(): void {
    if (this.producer === undefined || this.size > this.capacity) return
    const producer = this.producer
    this.producer = undefined
    producer()
  }
}
