/**
 * The instances of the test pool (`testPool.ts`): no process, but an incarnation with a fake
 * pid and two queues, its answers from the user's `respond` or `script`; spawning, stopping,
 * crashing, and restarting as the restart policy says (`backoff.ts`), as in the real pool.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { ExitInfo, State } from "../InstanceStatus.js"
import type { PoolEvent } from "../PoolEvent.js"
import type { PoolOptions } from "../PoolOptions.js"
import { restartsAfter } from "../RestartPolicy.js"
import type { Notification, TurnError } from "../ToolPool.js"
import type { InstanceExited } from "../ToolPoolError.js"
import type { Options, Reply, Turn } from "../ToolPoolTest.js"
import { nextRestart, resetIfStable, restartingEvent } from "./backoff.js"
import type * as Metrics from "./metrics.js"
import type { Router } from "./router.js"

/** Fake pids start above any real one (Linux's largest is 2^22), so that a signal reaches nobody. */
let nextPid = 10_000_000

/** @internal */
export interface Incarnation {
  readonly pid: number
  readonly startedAt: number
  /** Inputs written by `send`, answered in order by the instance's feeder. */
  readonly stdin: Queue.Queue<string>
  /** Answers nobody has read yet. */
  readonly responses: Queue.Queue<Exit.Exit<string, TurnError>>
}

/** @internal */
export interface Slot {
  readonly id: number
  state: State
  pending: number
  retiring: boolean
  current: Incarnation | undefined
  requests: number
  restarts: number
  lastExit: ExitInfo | null
  lastError: string | null
  readonly turn: Effect.Semaphore
  readonly lifecycle: Effect.Semaphore
  readonly driver: Schedule.ScheduleDriver<Duration.Duration, ExitInfo>
  attempts: number
  recentRestarts: Array<number>
}

/** @internal */
export const isAlive = (slot: Slot) => slot.state === "ready" || slot.state === "busy" || slot.state === "starting"

/** Answers from a script: each input's replies in order, its last one repeated. */
const scripted = (script: NonNullable<Options["script"]>) => {
  const entries: Iterable<readonly [string, Reply]> = Symbol.iterator in script
    ? script as Iterable<readonly [string, Reply]>
    : Object.entries(script)
  const replies = new Map<string, Array<Reply>>()
  for (const [input, reply] of entries) replies.set(input, [...(replies.get(input) ?? []), reply])
  return (input: string): Reply | undefined => {
    const queue = replies.get(input)
    if (queue === undefined) return undefined
    return queue.length > 1 ? queue.shift() : queue[0]
  }
}

/** @internal */
export const toEffect = <A>(value: A | Effect.Effect<A, TurnError>): Effect.Effect<A, TurnError> =>
  Effect.isEffect(value) ? value : Effect.succeed(value)

/**
 * What the test pool (`testPool.ts`) shares with its instances.
 * @internal
 */
export interface TestCore {
  readonly options: PoolOptions
  readonly router: Router<Slot>
  readonly metrics: ReturnType<typeof Metrics.forPool>
  /** The pool's own scope: each incarnation's feeder runs in it. */
  readonly scope: Scope.Scope
  readonly notifications: PubSub.PubSub<Notification>
  /** Publishes a lifecycle event (and updates the instance-state gauges). */
  readonly emit: (event: PoolEvent) => Effect.Effect<boolean>
  /** The clock's time, in milliseconds and as a `Date` (so that `TestClock` rules). */
  readonly now: Effect.Effect<number>
  readonly at: Effect.Effect<Date>
  /** Set once, by `shutdown`. */
  closed: boolean
}

/** @internal */
export interface TestInstances {
  /** One supervisor fiber per instance that is waiting to be restarted. */
  readonly supervisors: FiberMap.FiberMap<number>
  /** Counts a restart, on the slot and in the metrics. */
  readonly countRestart: (slot: Slot) => void
  /** The answer to `text` from the user's `respond` or `script`. */
  readonly answer: (slot: Slot, inc: Incarnation, text: string) => Effect.Effect<string, TurnError>
  /** Starts a new incarnation in the slot, ready at once. */
  readonly spawn: (slot: Slot) => Effect.Effect<Incarnation>
  /** Ends the incarnation at the pool's request: an expected exit, then `Stopped`. */
  readonly stop: (slot: Slot, final: State) => Effect.Effect<void>
}

/** @internal */
export const makeInstances = (
  pool: TestCore,
  answers: {
    readonly latency: Options["latency"]
    readonly respond: Options["respond"]
    readonly script: Options["script"]
  }
): Effect.Effect<TestInstances, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { at, emit, metrics, notifications, now, options, router } = pool
    const { latency, respond, script } = answers
    const supervisors = yield* FiberMap.make<number>()

    const countRestart = (slot: Slot) => {
      slot.restarts++
      metrics.restart()
    }

    const fromScript = script === undefined ? undefined : scripted(script)
    const answer = (slot: Slot, inc: Incarnation, text: string): Effect.Effect<string, TurnError> =>
      Effect.suspend(() => {
        const turn: Turn = {
          pid: inc.pid,
          notify: (method, params) => PubSub.publish(notifications, { instance: slot.id, method, params })
        }
        const reply = fromScript?.(text)
        const outcome = reply !== undefined
          ? (typeof reply === "string" ? Effect.succeed(reply) : Effect.fail(reply))
          : respond !== undefined
          ? toEffect(respond(text, slot.id, turn))
          : fromScript !== undefined
          ? Effect.dieMessage(`ToolPoolTest: the script has no reply to ${JSON.stringify(text)}`)
          : Effect.succeed(text)
        const delayed = latency === undefined ? outcome : Effect.zipRight(Effect.sleep(latency), outcome)
        // An exit reported by the answer ends the incarnation, as a crash of the tool would.
        return Effect.tapError(
          delayed,
          (error) => error._tag === "InstanceExited" ? crash(slot, inc, error) : Effect.void
        )
      })

    const spawn = (slot: Slot): Effect.Effect<Incarnation> =>
      Effect.gen(function*() {
        const inc: Incarnation = {
          pid: nextPid++,
          startedAt: yield* now,
          stdin: yield* Queue.bounded<string>(options.stdinQueue),
          responses: yield* Queue.bounded<Exit.Exit<string, TurnError>>(options.responseQueue)
        }
        slot.current = inc
        slot.state = "ready"
        // The feeder answers what `send` wrote, in order; it goes with the incarnation.
        yield* Queue.take(inc.stdin).pipe(
          Effect.flatMap((text) => Effect.exit(answer(slot, inc, text))),
          Effect.flatMap((exit) => Queue.offer(inc.responses, exit)),
          Effect.forever,
          Effect.interruptible,
          Effect.forkIn(pool.scope)
        )
        yield* emit({ _tag: "Spawned", instance: slot.id, pid: inc.pid, at: yield* at })
        yield* emit({ _tag: "Ready", instance: slot.id, pid: inc.pid, at: yield* at })
        router.dispatch()
        return inc
      })

    /** Ends the incarnation at the pool's request: an expected exit, then `Stopped`. */
    const stop = (slot: Slot, final: State): Effect.Effect<void> =>
      Effect.gen(function*() {
        const inc = slot.current
        slot.current = undefined
        if (inc !== undefined && isAlive(slot)) {
          const exit: ExitInfo = { code: 0, signal: null, at: yield* at }
          slot.lastExit = exit
          yield* Queue.shutdown(inc.stdin)
          yield* emit({
            _tag: "Exited",
            instance: slot.id,
            pid: inc.pid,
            code: 0,
            signal: null,
            expected: true,
            at: exit.at
          })
          slot.state = final
          yield* emit({ _tag: "Stopped", instance: slot.id, at: yield* at })
        } else {
          // An instance whose process had ended is stopped all the same, as in the real pool
          // (where the slot keeps the ended process until then).
          const ended = slot.state === "exited" || slot.state === "backing-off" || slot.state === "failed"
          slot.state = final
          if (inc !== undefined || ended) yield* emit({ _tag: "Stopped", instance: slot.id, at: yield* at })
        }
        router.dispatch()
      })

    const crash = (slot: Slot, inc: Incarnation, error: InstanceExited): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (slot.current !== inc) return
        const exit: ExitInfo = { code: error.exitCode, signal: error.signal, at: yield* at }
        slot.current = undefined
        slot.lastExit = exit
        slot.state = "exited"
        slot.lastError = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`
        router.dispatch()
        yield* Queue.shutdown(inc.stdin)
        yield* emit({
          _tag: "Exited",
          instance: slot.id,
          pid: inc.pid,
          code: exit.code,
          signal: exit.signal,
          expected: false,
          at: exit.at
        })
        if (!pool.closed && restartsAfter(options.restart, exit)) {
          yield* FiberMap.run(supervisors, slot.id, supervise(slot, inc, exit), { onlyIfMissing: true })
        }
      })

    /** The restart policy at work, as in the real pool: delays, intensity, reset, giving up. */
    const supervise = (slot: Slot, inc: Incarnation, exit: ExitInfo): Effect.Effect<void> =>
      Effect.gen(function*() {
        const policy = options.restart
        yield* resetIfStable(slot, policy, (yield* now) - inc.startedAt)
        const beforeWait = Effect.sync(() => {
          slot.state = "backing-off"
          router.dispatch()
        })
        const decided = yield* nextRestart(slot, policy, exit, now, beforeWait)
        if (decided._tag === "Left") return yield* giveUp(slot, decided.left)
        yield* emit(restartingEvent(slot.id, slot, decided.right, exit, yield* at))
        yield* Effect.gen(function*() {
          if (pool.closed || slot.state !== "backing-off") return
          countRestart(slot)
          yield* spawn(slot)
        }).pipe(slot.lifecycle.withPermits(1))
      })

    const giveUp = (slot: Slot, reason: string) =>
      Effect.gen(function*() {
        slot.state = "failed"
        slot.lastError = `gave up restarting: ${reason}`
        router.dispatch()
        yield* emit({ _tag: "GaveUp", instance: slot.id, reason, at: yield* at })
      })

    return { supervisors, countRestart, answer, spawn, stop }
  })
