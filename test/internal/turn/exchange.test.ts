import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scheduler from "effect/Scheduler"
import { PassThrough } from "node:stream"
import type { Frame } from "../../../src/internal/framing/frame.js"
import { continuation, response } from "../../../src/internal/framing/frame.js"
import { Inbox } from "../../../src/internal/output/inbox.js"
import type { Breakage, Incarnation } from "../../../src/internal/pool/instance.js"
import { writableStdin } from "../../../src/internal/process/pipes.js"
import { Stdin } from "../../../src/internal/process/stdin.js"
import { Alarm } from "../../../src/internal/turn/alarm.js"
import type { ExchangeHooks, ExchangeSlot } from "../../../src/internal/turn/exchange.js"
import { exchange } from "../../../src/internal/turn/exchange.js"
import { TurnLock } from "../../../src/internal/turn/turnLock.js"
import { ResponseTooLarge, TurnTimeout } from "../../../src/ToolPoolError.js"

const tick = () => new Promise((resolve) => setImmediate(resolve))

/**
 * One slot and the parts of an incarnation an exchange touches; `log` records the hooks' calls.
 * `onEncode` runs as the input is encoded, inside the registration.
 */
const setup = (onEncode: () => void = () => {}, deadlineMillis = 5000) => {
  const responses = new Inbox<Frame, Breakage>(16)
  const inc = {
    pid: 1,
    owed: 0,
    broken: undefined,
    writeFailed: undefined,
    responses,
    stdin: new Stdin(writableStdin(new PassThrough()), 4),
    codec: {
      encode: (input: string) => {
        onEncode()
        return `${input}\n`
      }
    }
  } as unknown as Incarnation
  const slot: ExchangeSlot = {
    id: 0,
    state: "ready",
    current: inc,
    requests: 0,
    servedByCurrent: 0,
    turn: new TurnLock(),
    alarm: new Alarm()
  }
  const log: Array<string> = []
  const hooks: ExchangeHooks<ExchangeSlot, undefined> = {
    allowed: () => true,
    millis: () => deadlineMillis,
    timedOut: () => new TurnTimeout({ instance: 0, pid: 1, timeout: Duration.seconds(5), kind: "deadline" }),
    release: () => {
      log.push("release")
      return undefined
    },
    unclaim: () => log.push("unclaim"),
    abandon: () => log.push("abandon"),
    measure: (outcome) => log.push(`measure:${outcome}`),
    tooLarge: () => new ResponseTooLarge({ instance: 0, pid: 1, limit: 1 })
  }
  const turn = exchange(hooks, () => slot, "x", undefined, (_slot, text) => text, () => Effect.succeed("general"))
  return { slot, responses, log, turn }
}

describe("exchange", () => {
  it("a response ends the turn: the lock is free and the claim released", async () => {
    const { log, responses, slot, turn } = setup()
    const fiber = Effect.runFork(turn)
    await tick()
    expect(slot.state).toBe("busy")
    responses.offer(response("hi"))
    expect(await Effect.runPromise(Fiber.join(fiber))).toBe("hi")
    expect(log).toEqual(["measure:ok", "release"])
    expect(slot.turn.tryTake()).toBe(true)
  })

  it("a turn whose deadline passes fails with TurnTimeout, and the tool is healed", async () => {
    const { log, responses, slot, turn } = setup(() => {}, 20)
    const exit = await Effect.runPromise(Effect.exit(turn))
    expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("TurnTimeout")
    // the input went out unanswered: the lock stays with the healing
    expect(log).toEqual(["measure:TurnTimeout", "abandon", "release"])
    expect(slot.turn.tryTake()).toBe(false)
    expect(slot.state).toBe("ready")
    // nothing is left listening for the answer
    responses.offer(response("late"))
    expect(responses.size).toBe(1)
  })

  it("a busy lock sends the turn down the general path, and the claim is undone", async () => {
    const { log, slot, turn } = setup()
    slot.turn.tryTake()
    expect(await Effect.runPromise(turn)).toBe("general")
    expect(log).toEqual(["unclaim"])
  })

  it("a caller interrupted as an unfinished answer arrives still leaves the instance to be healed", async () => {
    const { log, responses, turn } = setup()
    const fiber = Effect.runFork(turn)
    await tick()
    // the continuation prompt arrives and, in the same tick, the caller is interrupted
    responses.offer(continuation("... "))
    fiber.unsafeInterruptAsFork(FiberId.none)
    await Effect.runPromise(Fiber.await(fiber))
    expect(log).toContain("abandon")
  })

  it("the same turn can be run again: each run is a turn of its own", async () => {
    const { log, responses, turn } = setup()
    for (const answer of ["one", "two"]) {
      const fiber = Effect.runFork(turn)
      await tick()
      responses.offer(response(answer))
      expect(await Effect.runPromise(Fiber.join(fiber))).toBe(answer)
    }
    expect(log).toEqual(["measure:ok", "release", "measure:ok", "release"])
  })

  it("a caller interrupted after its answer came is not counted as interrupted, nor healed", async () => {
    const { log, responses, slot, turn } = setup()
    const fiber = Effect.runFork(turn)
    await tick()
    responses.offer(response("hi"))
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(log).toEqual(["measure:ok", "release"])
    expect(slot.turn.tryTake()).toBe(true)
  })

  it("an interrupted turn whose input went out is healed, and the lock stays with the healing", async () => {
    const { log, slot, turn } = setup()
    const fiber = Effect.runFork(turn)
    await tick()
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(log).toEqual(["measure:interrupted", "abandon", "release"])
    expect(slot.turn.tryTake()).toBe(false)
    expect(slot.state).toBe("ready")
  })

  it("an uninterruptible caller is not interrupted: its turn gets its answer", async () => {
    const { log, responses, slot, turn } = setup()
    let got: string | undefined
    const fiber = Effect.runFork(Effect.uninterruptible(Effect.tap(turn, (text) => {
      got = text
    })))
    await tick()
    fiber.unsafeInterruptAsFork(FiberId.none)
    await tick()
    responses.offer(response("hi"))
    await Effect.runPromise(Fiber.await(fiber))
    expect(got).toBe("hi")
    expect(log).toEqual(["measure:ok", "release"])
    expect(slot.turn.tryTake()).toBe(true)
  })

  it("an interruption that lands between the registration and the wait is seen", async () => {
    // The fiber yields right after the registration (as Effect's scheduler does every so many
    // operations), and is interrupted from outside meanwhile. With a canceler returned by the
    // registration (before 4cc6838), the canceler was not in place yet, and the turn stayed.
    let yieldNext = false
    let self: Fiber.RuntimeFiber<unknown, unknown> | undefined
    const scheduler: Scheduler.Scheduler = {
      shouldYield: () => {
        if (!yieldNext) return false
        yieldNext = false
        return 0
      },
      scheduleTask: (task) => setImmediate(task)
    }
    const { log, responses, slot, turn } = setup(() => {
      yieldNext = true
      const victim = self
      setImmediate(() => victim?.unsafeInterruptAsFork(FiberId.none))
    })
    const fiber = Effect.runFork(
      Effect.withFiberRuntime((runtime) => {
        self = runtime
        return Effect.void
      }).pipe(Effect.zipRight(turn), Effect.withScheduler(scheduler))
    )
    const exit = await Effect.runPromise(Fiber.await(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    expect(log).toEqual(["measure:interrupted", "abandon", "release"])
    expect(slot.state).toBe("ready")
    // nothing is left listening for the answer
    responses.offer(response("late"))
    expect(responses.size).toBe(1)
  })
})
