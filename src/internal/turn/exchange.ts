/**
 * The common turn (an instance that is ready and free, a line of input, one response) as a
 * single `Effect.async`: the lock, the write, the wait for the response and the deadline are
 * plain callbacks inside it.
 *
 * Why: every Effect combinator on a turn's path costs CPU while the caller waits, and a turn
 * built from them (lock, deadline, progress record, metrics, span check) cost several times what
 * the same exchange costs in plain Node (`bench/README.md` has the runs before and after;
 * `bench/floor.ts` shows where a turn's time goes now). The general path in `turn/turns.ts` stays
 * for everything else (a lock to wait for, an instance still starting, answers
 * owed by abandoned turns, JSON-RPC, an inactivity timeout, a tracer that records, a test clock).
 * Both end the same way: the same errors, the same healing of an abandoned turn, the same metrics.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type { State } from "../../InstanceStatus.js"
import type { ResponseTooLarge, TurnTimeout } from "../../ToolPoolError.js"
import { IncompleteInput } from "../../ToolPoolError.js"
import type { Frame } from "../framing/frame.js"
import type { Breakage, Incarnation } from "../pool/instance.js"
import { outcomeOf } from "../pool/metrics.js"
import type { Alarm } from "./alarm.js"
import type { TurnLock } from "./turnLock.js"

/** What an exchange sees of an instance slot. @internal */
export interface ExchangeSlot {
  readonly id: number
  state: State
  current: Incarnation | undefined
  requests: number
  servedByCurrent: number
  readonly turn: TurnLock
  /** The deadline timer of the slot's quick turns. */
  readonly alarm: Alarm
}

/**
 * What an exchange needs from its pool. `O` is the turn's options, which the exchange only
 * passes on: one object of functions per pool, instead of closures made for every turn.
 * @internal
 */
export interface ExchangeHooks<S extends ExchangeSlot, O> {
  /** Whether the turn may be one exchange in this fiber; if not it takes the general path. */
  readonly allowed: (fiber: Fiber.RuntimeFiber<unknown, unknown>, options: O) => boolean
  /** The turn's deadline in milliseconds. */
  readonly millis: (options: O) => number
  /** The error of a turn whose deadline passed. */
  readonly timedOut: (slot: S, inc: Incarnation, options: O) => TurnTimeout
  /**
   * Ends the turn's claim on the slot now (a waiting `submit` may have it); returns what is left
   * to do, if anything (recycling the instance).
   */
  readonly release: (slot: S) => Effect.Effect<void> | undefined
  /**
   * The tool is left busy with an unanswered input: start healing it now (in a fiber of its
   * own), which holds the lock until the tool is in step again.
   */
  readonly abandon: (slot: S, inc: Incarnation) => void
  /** Undoes a claim that led to no turn (the slot is free for others again). */
  readonly unclaim: (slot: S) => void
  /** Records the outcome and latency of a turn. */
  readonly measure: (outcome: string, millis: number) => void
  /** The error of a response over the size limit. */
  readonly tooLarge: (slot: S, inc: Incarnation) => ResponseTooLarge
}

/** @internal */
export type ExchangeError = Breakage | TurnTimeout | IncompleteInput | ResponseTooLarge

/**
 * A turn's result, given the frame that ended it: the response's text; `IncompleteInput` at a
 * continuation prompt (the tool waits for the rest of an open block); `ResponseTooLarge`.
 * @internal
 */
export const resultOf = <S extends { readonly id: number }>(
  frame: Frame,
  slot: S,
  inc: Incarnation,
  tooLarge: (slot: S, inc: Incarnation) => ResponseTooLarge
): Exit.Exit<string, IncompleteInput | ResponseTooLarge> =>
  frame._tag === "Response"
    ? Exit.succeed(frame.text)
    : frame._tag === "Continuation"
    ? Exit.fail(new IncompleteInput({ instance: slot.id, output: frame.text }))
    : Exit.fail(tooLarge(slot, inc))

/** The `done` of a turn whose result is the response text itself. @internal */
export const asText = <S>(_slot: S, text: string): string => text

/**
 * One turn as a single `Effect.async`. Everything happens inside its registration, so that an
 * interruption before it starts leaves nothing behind: `claim` reserves a slot for it (counted in
 * its `pending`; undefined if none can be had at once), the lock is taken if it is free, `input`
 * is written if stdin has room. If any of that cannot be done at once, the reservation is undone
 * and the turn continues as `general()`. `done` makes the result of the response's text;
 * `options` are the turn's, passed to the hooks. (Arguments, not one object: an object made per
 * call lives as long as its turn, and V8 took to allocating it in the old generation, as below.)
 *
 * A caller who leaves while the turn waits (interrupted) is seen by a failure handler around
 * an `Effect.async` without a canceler (as `Effect.onExit` would), not by a canceler. Both
 * work; the canceler's wrapping is what V8 often ends up allocating in the old generation
 * (`bench/README.md`, "Collections"): each turn's objects then outlive their turn until a full
 * collection, and every young collection gets several times slower.
 * @internal
 */
export const exchange = <S extends ExchangeSlot, O, A, E>(
  hooks: ExchangeHooks<S, O>,
  claim: () => S | undefined,
  input: string,
  options: O,
  done: (slot: S, text: string) => A,
  general: () => Effect.Effect<A, E>
): Effect.Effect<A, E | ExchangeError> =>
  Effect.withFiberRuntime((fiber) => {
    if (!hooks.allowed(fiber, options)) return general()
    // Per run, here (the same turn effect may run more than once, even at once).
    /**
     * Set once the input went out: ends the turn if the caller left before its answer (what is
     * left to run), or undefined if the turn had ended by itself.
     */
    let leave: (() => Effect.Effect<void> | undefined) | undefined
    const wait = Effect.async<A, E | ExchangeError>((resume) => {
      const slot = claim()
      if (slot === undefined) return resume(general())
      const inc = slot.current
      const ready = inc !== undefined && inc.codec.rpc === undefined && slot.state === "ready" &&
        inc.owed === 0 && inc.broken === undefined && inc.writeFailed === undefined
      if (!ready || !slot.turn.tryTake()) {
        hooks.unclaim(slot)
        return resume(general())
      }
      // Output that came between turns is in the transcript; it is not this turn's answer.
      inc.responses.clear()
      if (!inc.stdin.tryWrite(inc.codec.encode(input))) {
        // stdin's pipe is full (or ending): the general path waits for room under the deadline
        slot.turn.unsafeRelease()
        hooks.unclaim(slot)
        return resume(general())
      }
      slot.state = "busy"
      const started = performance.now()

      /**
       * Ends the turn, given its response (none if the deadline passed or the caller left): the
       * slot's bookkeeping, all done here and now (a caller interrupted after this still leaves
       * the slot in order), and the turn's result.
       */
      const settle = (frame: Exit.Exit<Frame, Breakage> | undefined, interrupted: boolean) => {
        if (slot.state === "busy") slot.state = "ready"
        let result: Exit.Exit<string, ExchangeError>
        // Whether the tool is done with this turn's input; if not, it must be healed first.
        let settled = true
        if (frame === undefined) {
          result = Exit.fail(hooks.timedOut(slot, inc, options))
          settled = inc.broken !== undefined
        } else if (Exit.isFailure(frame)) {
          result = Exit.failCause(frame.cause)
        } else {
          slot.requests++
          slot.servedByCurrent++
          result = resultOf(frame.value, slot, inc, hooks.tooLarge)
          // A continuation prompt is no answer: heal as if abandoned.
          if (frame.value._tag === "Continuation") settled = inc.broken !== undefined
        }
        hooks.measure(interrupted ? "interrupted" : outcomeOf(result), performance.now() - started)
        // The lock passes to the healing if the tool is still busy with the input.
        if (settled) slot.turn.unsafeRelease()
        else hooks.abandon(slot, inc)
        const rest = hooks.release(slot)
        const value = done === asText
          ? result as Exit.Exit<A, ExchangeError>
          : Exit.map(result, (text) => done(slot, text))
        return rest === undefined ? value : Effect.zipRight(rest, value)
      }

      let over = false
      /** Stops waiting for the answer; false if the turn had ended already. */
      const end = (): boolean => {
        if (over) return false
        over = true
        slot.alarm.cancel()
        inc.responses.unlisten(onReady)
        return true
      }
      /** Ends the turn with its response; with none, when the deadline passed (the alarm's call). */
      const finish = (frame?: Exit.Exit<Frame, Breakage>) => {
        if (end()) resume(settle(frame, false))
      }
      const onReady = () => {
        if (over) return
        const next = inc.responses.poll()
        if (next === undefined) inc.responses.listen(onReady)
        else finish(next)
      }
      leave = () => end() ? Effect.asVoid(Effect.exit(settle(undefined, true))) : undefined
      const first = inc.responses.poll()
      if (first !== undefined) return finish(first)
      inc.responses.listen(onReady)
      slot.alarm.set(hooks.millis(options), finish, started)
    })
    // `Effect.onExit(wait, leave)`, less the work onExit does on a success: a turn that
    // succeeded has ended by itself, so there is nothing to run (a success passes a failure
    // handler by). As in onExit, the handler runs outside the interruptible region (an
    // interrupted fiber skips the failure handlers of interruptible code), so an interrupted
    // caller always ends its turn.
    return Effect.uninterruptibleMask((restore) =>
      Effect.catchAllCause(restore(wait), (cause) => {
        const left = leave?.()
        return left === undefined ? Exit.failCause(cause) : Effect.zipRight(left, Exit.failCause(cause))
      })
    )
  })
