import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { withDeadline } from "../../../src/internal/turn/deadline.js"

const forever = <T>(deadline: Parameters<Parameters<typeof withDeadline<never, never, never, T>>[2]>[0]) =>
  deadline === undefined ? Effect.never : deadline.wait<never, never>(() => () => {})

describe("withDeadline", () => {
  it.live("fails a wait with the timeout error once the time is up", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.either(withDeadline(Duration.millis(20), () => "late", forever))
      expect(outcome).toEqual(Either.left("late"))
    }))

  it.live("waits after the deadline fail at once", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.either(
        withDeadline(Duration.millis(10), () =>
          "late", (deadline) =>
          Effect.sleep("30 millis").pipe(Effect.zipRight(forever(deadline))))
      )
      expect(outcome).toEqual(Either.left("late"))
    }))

  it.effect("follows a test clock", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.either(withDeadline(Duration.seconds(30), () => "late", forever)))
      yield* TestClock.adjust("29 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual(Either.left("late"))
    }))
})
