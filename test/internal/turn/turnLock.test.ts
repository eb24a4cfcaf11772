import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import { Deadline } from "../../../src/internal/turn/deadline.js"
import { TurnLock } from "../../../src/internal/turn/turnLock.js"

describe("TurnLock", () => {
  it.effect("hands the lock to waiters in the order they came", () =>
    Effect.gen(function*() {
      const lock = new TurnLock()
      const order: Array<number> = []
      yield* lock.take()
      const waiters = yield* Effect.forEach([1, 2, 3], (n) =>
        Effect.fork(lock.withLock(Effect.sync(() => {
          order.push(n)
        }))))
      yield* Effect.yieldNow()
      expect(order).toEqual([])
      yield* lock.release
      yield* Effect.forEach(waiters, Fiber.join)
      expect(order).toEqual([1, 2, 3])
    }))

  it.effect("a waiter interrupted right after it was handed the lock passes it on", () =>
    Effect.gen(function*() {
      const lock = new TurnLock()
      yield* lock.take()
      const first = yield* Effect.fork(lock.take())
      const second = yield* Effect.fork(lock.withLock(Effect.succeed("second")))
      yield* Effect.yieldNow()
      // hand the lock to `first`, then interrupt it before it can run
      yield* lock.release
      yield* Fiber.interrupt(first)
      expect(yield* Fiber.join(second)).toBe("second")
      // and the lock is free again
      yield* lock.take()
    }))

  it.live("a deadline ends the wait for the lock, and the lock stays usable", () =>
    Effect.gen(function*() {
      const lock = new TurnLock()
      yield* lock.take()
      const deadline = new Deadline(20, () => "timed out" as const)
      const waited = yield* Effect.either(lock.take(deadline))
      deadline.clear()
      expect(waited).toEqual(Either.left("timed out"))
      yield* lock.release
      expect(yield* lock.withLock(Effect.succeed("free"))).toBe("free")
    }))
})
