import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import { Inbox } from "../../../src/internal/output/inbox.js"
import { Deadline } from "../../../src/internal/turn/deadline.js"

describe("Inbox", () => {
  it.effect("takes items in order, waiting for the next one", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const taker = yield* Effect.fork(Effect.all([inbox.take(), inbox.take()]))
      yield* Effect.yieldNow()
      inbox.offer("a")
      inbox.offer("b")
      expect(yield* Fiber.join(taker)).toEqual(["a", "b"])
    }))

  it.effect("after fail, takers get what came before, then the error", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, string>(8)
      inbox.offer("last words")
      inbox.fail("exited")
      inbox.offer("dropped")
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

  it.effect("the producer is told to pause while more than capacity items are unread", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, never>(2)
      inbox.offer(1)
      expect(inbox.offer(2)).toBe(true)
      expect(inbox.offer(3)).toBe(false)
      let resumed = 0
      inbox.onRoom(() => resumed++)
      expect(resumed).toBe(0)
      expect(yield* inbox.take()).toBe(1)
      expect(resumed).toBe(1)
      expect(inbox.clear()).toBe(2)
      expect(resumed).toBe(1)
    }))

  it.effect("every paused producer is resumed, not only the last to pause", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<number, never>(1)
      inbox.offer(1)
      expect(inbox.offer(2)).toBe(false)
      const resumed: Array<string> = []
      inbox.onRoom(() => resumed.push("stdout"))
      inbox.onRoom(() => resumed.push("stderr"))
      expect(yield* inbox.take()).toBe(1)
      expect(resumed).toEqual(["stdout", "stderr"])
    }))

  it.effect("a paused producer is resumed when the inbox fails", () =>
    Effect.sync(() => {
      const inbox = new Inbox<number, string>(1)
      inbox.offer(1)
      expect(inbox.offer(2)).toBe(false)
      let resumed = 0
      inbox.onRoom(() => resumed++)
      inbox.fail("exited")
      expect(resumed).toBe(1)
    }))

  it.live("a deadline ends the wait and leaves later items for the next taker", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const deadline = new Deadline(20, () => "timed out" as const)
      expect(yield* Effect.either(inbox.take(deadline))).toEqual(Either.left("timed out"))
      deadline.clear()
      inbox.offer("late")
      expect(yield* inbox.take()).toBe("late")
    }))

  it.effect("an interrupted taker leaves the item for the next one", () =>
    Effect.gen(function*() {
      const inbox = new Inbox<string, never>(8)
      const first = yield* Effect.fork(inbox.take())
      yield* Effect.yieldNow()
      inbox.offer("only")
      yield* Fiber.interrupt(first)
      expect(yield* inbox.take()).toBe("only")
    }))
})
