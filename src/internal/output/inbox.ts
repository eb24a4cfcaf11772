/**
 * The responses of an instance that no turn has taken yet: a bounded FIFO from the stdout
 * reader (and stderr's, when merged) to the turns (one at a time, under the instance's lock).
 *
 * Not `Queue`: a `Queue.take` that has to wait makes a `Deferred`, and `Deferred.make` alone
 * costs several microseconds in effect 3.22 (it spreads the whole Effect prototype into a new
 * object); a turn waits for its response every time. Not `Mailbox` either: its waits cannot be
 * ended by a turn's deadline (`deadline.ts`). This is an array, the waiting takers (in practice
 * one) and the paused producer, each a callback.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Deadline } from "../turn/deadline.js"
import { wait } from "../turn/deadline.js"

/** @internal */
export class Inbox<A, E> {
  private items: Array<A> = []
  private head = 0
  private failure: E | undefined
  /** Wake the fibers waiting for an item, first come first served. */
  private takers: Array<() => void> = []
  /** Wake the producers waiting for room (the tool's stdout, and its stderr when merged). */
  private producers: Array<() => void> = []

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head
  }

  /** The error takers get once the items are gone, if the inbox was failed. */
  get error(): E | undefined {
    return this.failure
  }

  /**
   * Adds an item. Returns false once more than `capacity` are unread: the producer should then
   * stop reading until `onRoom` calls it back (so memory stays bounded by about one chunk's
   * worth past the capacity). Items added after `fail` are dropped.
   */
  offer(item: A): boolean {
    if (this.failure !== undefined) return true
    this.items.push(item)
    this.wakeTaker()
    return this.size <= this.capacity
  }

  /** Calls `resume` once, when the unread items are back within capacity or the inbox failed. */
  onRoom(resume: () => void): void {
    this.producers.push(resume)
    this.wakeProducer()
  }

  /** The next item; fails with the inbox's error once it was failed and is empty. */
  take<T = never>(deadline?: Deadline<T>): Effect.Effect<A, E | T> {
    return Effect.suspend(() => {
      const taken = this.poll()
      if (taken !== undefined) return taken
      return wait<A, E | T, T>(deadline, (wake) => {
        const onReady = () => wake(this.take(deadline))
        this.listen(onReady)
        return () => this.unlisten(onReady)
      })
    })
  }

  /**
   * The next item or the inbox's error, taken now as an exit; undefined if there is neither.
   * (`Exit` is an `Effect`, so `take` returns it as is.)
   */
  poll(): Exit.Exit<A, E> | undefined {
    if (this.head < this.items.length) {
      const item = this.items[this.head] as A
      this.items[this.head] = undefined as A
      this.head++
      if (this.head === this.items.length) {
        this.items.length = 0
        this.head = 0
      }
      this.wakeProducer()
      return Exit.succeed(item)
    }
    return this.failure === undefined ? undefined : Exit.fail(this.failure)
  }

  /**
   * Calls `onReady` once, when an item may be there to `poll` (or the inbox failed), in the
   * order the listeners came, unless `unlisten` takes it back first.
   */
  listen(onReady: () => void): void {
    this.takers.push(onReady)
  }

  /** Takes back a `listen` that has not been called yet. */
  unlisten(onReady: () => void): void {
    const at = this.takers.indexOf(onReady)
    if (at !== -1) this.takers.splice(at, 1)
  }

  /** Removes every unread item; returns how many there were. */
  clear(): number {
    const dropped = this.size
    if (dropped > 0) {
      this.items.length = 0
      this.head = 0
    }
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
    if (this.producers.length === 0 || (this.size > this.capacity && this.failure === undefined)) return
    for (const producer of this.producers.splice(0)) producer()
  }
}
