import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import { Deadline } from "../../src/internal/deadline.js"
import { Inbox } from "../../src/internal/inbox.js"

describe("Inbox", () => {
  it.effect("takes items in order, waiting for the next one", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const taker = yield* Effect.fork(Effect.all([inbox.take(), inbox.take()]))
      yield* Effect.yieldNow()
      yield* inbox.offerAll(["a", "b"])
      expect(yield* Fiber.join(taker)).toEqual(["a", "b"])
    }))

  it.effect("after fail, takers get what came before, then the error", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, string>(8)
      yield* inbox.offerAll(["last words"])
      inbox.fail("exited")
      yield* inbox.offerAll(["dropped"])
      expect(yield* inbox.take()).toBe("last words")
      expect(yield* Effect.either(inbox.take())).toEqual(Either.left("exited"))
    }))

  it.effect("a waiting taker wakes up with the error", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, string>(8)
      const taker = yield* Effect.fork(Effect.either(inbox.take()))
      yield* Effect.yieldNow()
      inbox.fail("exited")
      expect(yield* Fiber.join(taker)).toEqual(Either.left("exited"))
    }))

  it.effect("the producer waits while more than capacity items are unread", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, never>(2)
      const producer = yield* Effect.fork(inbox.offerAll([1, 2, 3]))
      yield* Effect.yieldNow()
      expect(producer.unsafePoll()).toBeNull()
      expect(yield* inbox.take()).toBe(1)
      yield* Fiber.join(producer)
      expect(inbox.clear()).toBe(2)
    }))

  it.live("a deadline ends the wait and leaves later items for the next taker", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const deadline = new Deadline(20, () => "timed out" as const)
      expect(yield* Effect.either(inbox.take(deadline))).toEqual(Either.left("timed out"))
      deadline.clear()
      yield* inbox.offerAll(["late"])
      expect(yield* inbox.take()).toBe("late")
    }))

  it.effect("an interrupted taker leaves the item for the next one", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const first = yield* Effect.fork(inbox.take())
      yield* Effect.yieldNow()
      yield* inbox.offerAll(["only"])
      yield* Fiber.interrupt(first)
      expect(yield* inbox.take()).toBe("only")
    }))
})
