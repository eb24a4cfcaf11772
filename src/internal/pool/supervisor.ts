/**
 * Supervision of the pool's instances: spawning into a slot and stopping it, restarting an
 * instance that ended on its own as the restart policy says (`backoff.ts`), healing an instance
 * after an abandoned turn, health probes, and recycling by `maxRequests` / `maxUptime`.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { ExitInfo, State } from "../../InstanceStatus.js"
import { restartsAfter } from "../../RestartPolicy.js"
import type { SpawnError } from "../../ToolPoolError.js"
import { liveClock } from "../turn/deadline.js"
import { nextRestart, rearm, resetIfStable, restartingEvent, trip } from "./backoff.js"
import type { Incarnation } from "./instance.js"
import * as Instance from "./instance.js"
import type { PoolCore, Slot } from "./slot.js"
import { nowOf, onTrial } from "./slot.js"

/** @internal */
export interface Supervisor {
  /** One supervisor fiber per instance that is waiting to be restarted. */
  readonly supervisors: FiberMap.FiberMap<number>
  /** Counts a restart, on the slot and in the metrics. */
  readonly countRestart: (slot: Slot) => void
  /** The host's report that an incarnation can take no more input: out of rotation at once. */
  readonly onBroken: (slot: Slot, inc: Incarnation, reason: string) => void
  /** The host's report that an incarnation exited: restarts it if the policy says so. */
  readonly onExit: (slot: Slot, inc: Incarnation, exit: ExitInfo) => Effect.Effect<void>
  /** The host's report that an incarnation is ready, or failed to start. */
  readonly onReady: (slot: Slot, inc: Incarnation, error: SpawnError | undefined) => Effect.Effect<void>
  /** Spawns a new incarnation into the slot; the caller holds the lifecycle lock. */
  readonly spawnInto: (slot: Slot) => Effect.Effect<Incarnation, SpawnError>
  /** Stops the slot's process, if any; the caller holds the lifecycle lock. */
  readonly stopSlot: (slot: Slot, final: State) => Effect.Effect<void>
  /** Brings an instance back in sync after an abandoned turn, holding its turn lock. */
  readonly heal: (slot: Slot, inc: Incarnation) => Effect.Effect<void>
  /** Replaces an instance's process with a fresh one when it is idle. */
  readonly recycle: (slot: Slot) => Effect.Effect<void>
  /** Replaces the process of an instance that failed a probe (a restart of the pool's own). */
  readonly replace: (slot: Slot, inc: Incarnation) => Effect.Effect<void>
}

/** How long a tool must stay silent after its abandoned answers for healing to be over. */
const HEAL_QUIET = Duration.millis(100)

/** @internal */
export const makeSupervisor = (pool: PoolCore): Effect.Effect<Supervisor, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { emit, metrics, options, router, slots } = pool
    // One supervisor fiber per instance that is waiting to be restarted.
    const supervisors = yield* FiberMap.make<number>()
    /**
     * The tool ended on the heal's SIGINT (many do: Node and Python scripts without a handler):
     * from then on heals do not send it, and wait for the abandoned answer instead, so that a
     * caller's deadline does not cost the tool its life (and its state) each time.
     */
    let interruptEndsTool = false

    const countRestart = (slot: Slot) => {
      slot.restarts++
      metrics.restart()
    }

    /** A restart or replacement the pool caused itself: counted apart, never against the breaker. */
    const countSelfRestart = (slot: Slot) => {
      slot.selfRestarts++
      metrics.selfRestart()
    }

    /**
     * A write to the incarnation failed: it leaves the rotation now (`stopping`, which the router
     * and turns skip, and which status and health do not count as serving). Its exit, awaited or
     * forced by the instance (`instance.ts`), then runs the restart path as any other exit.
     */
    const onBroken = (slot: Slot, inc: Incarnation, reason: string): void => {
      if (slot.current !== inc || inc.stopping) return
      if (slot.state !== "ready" && slot.state !== "busy" && slot.state !== "starting") return
      slot.state = "stopping"
      slot.lastError = reason
      router.dispatch()
    }

    const onExit = (slot: Slot, inc: Incarnation, exit: ExitInfo) =>
      Effect.sync(() => {
        slot.lastExit = exit
        if (slot.current !== inc || inc.stopping) return
        slot.state = "exited"
        slot.lastError = exit.signal === null ? `exited with code ${exit.code}` : `killed by ${exit.signal}`
        router.dispatch()
      }).pipe(
        Effect.zipRight(
          emit({
            _tag: "Exited",
            instance: slot.id,
            pid: inc.pid,
            code: exit.code,
            signal: exit.signal,
            expected: inc.stopping,
            at: exit.at
          })
        ),
        Effect.zipRight(
          Effect.suspend(() => {
            if (slot.current !== inc || inc.stopping || pool.closed) return Effect.void
            // What the tool left behind (children, pipes, fibers) goes now, in the background;
            // the slot keeps its state, and a restart does not wait for it.
            const cleanup = FiberSet.run(pool.background, Instance.stop(inc, options))
            // The tool ended on the pool's own interrupt (healing an abandoned turn: many tools
            // exit on SIGINT). Not a crash: it is started again at once, as healing would.
            if (inc.healing && (exit.signal === null || exit.signal === "SIGINT")) {
              const learnt = options.interrupt === "SIGINT" && !interruptEndsTool
              if (learnt) interruptEndsTool = true
              return cleanup.pipe(
                Effect.zipRight(
                  learnt
                    ? Effect.logWarning(
                      `the tool ended on the SIGINT that cut an abandoned turn short: from now on abandoned turns ` +
                        `are not interrupted, their answers are awaited (up to healGrace) instead`
                    )
                    : Effect.void
                ),
                Effect.zipRight(FiberMap.run(supervisors, slot.id, restartOwn(slot, inc)))
              )
            }
            if (!restartsAfter(options.restart, exit)) return Effect.asVoid(cleanup)
            // The latest exit drives the restarts: a supervisor still waiting for the readiness
            // of the process that just ended gives way to a new one.
            return cleanup.pipe(Effect.zipRight(FiberMap.run(supervisors, slot.id, supervise(slot, inc, exit))))
          }).pipe(Effect.asVoid)
        ),
        Effect.zipRight(Effect.logDebug("instance exited")),
        Effect.annotateLogs({ instance: slot.id, pid: inc.pid, code: exit.code, signal: exit.signal })
      )

    const onReady = (slot: Slot, inc: Incarnation, error: SpawnError | undefined) =>
      Effect.suspend(() => {
        if (slot.current !== inc || inc.stopping) return Effect.void
        if (error === undefined) {
          if (slot.state === "starting") slot.state = "ready"
          router.dispatch()
          return emit({ _tag: "Ready", instance: slot.id, pid: inc.pid, at: nowOf(slot) }).pipe(
            Effect.zipRight(Effect.logDebug("instance ready"))
          ).pipe(Effect.annotateLogs({ instance: slot.id, pid: inc.pid }))
        }
        slot.state = "failed"
        slot.lastError = error.message
        router.dispatch()
        // It will never serve: take it down now rather than at shutdown.
        return Instance.stop(inc, options).pipe(slot.lifecycle.withPermits(1), Effect.forkDaemon, Effect.asVoid)
      })

    /**
     * Restarts an instance that ended on its own, as the policy says: wait the schedule's delay,
     * spawn, wait until ready; a start that fails counts as another failure. Gives up when the
     * schedule is done or the intensity limit is passed: the instance is then `failed`.
     */
    const supervise = (slot: Slot, inc: Incarnation, exit: ExitInfo): Effect.Effect<void> =>
      Effect.gen(function*() {
        const policy = options.restart
        const now = yield* Clock.currentTimeMillis
        yield* resetIfStable(slot, policy, now - inc.startedAt.getTime())
        let failure: ExitInfo = exit
        // The process whose end this restart answers; someone else replaced it, if it is gone.
        let ended = inc
        // An end on trial (nothing answered since the last cool-down) opens the breaker again at
        // once: a tool still crash-looping gets no more restarts in a row, and callers do not wait
        // through them (`router.ts` fails them fast while it cools down).
        let trialFailed = onTrial(slot)
        while (true) {
          const decided = trialFailed
            ? Either.left({ reason: "it ended again, on trial after a cool-down", tripped: true })
            : yield* nextRestart(slot, policy, failure, Clock.currentTimeMillis)
          trialFailed = false
          if (decided._tag === "Left") {
            const { reason, tripped } = decided.left
            if (tripped && (yield* coolDown(slot, reason))) continue
            return yield* giveUp(slot, reason)
          }
          // Out of rotation, with the time of the attempt, for the schedule's delay.
          slot.state = "backing-off"
          slot.nextAttemptAt = (yield* Clock.currentTimeMillis) + Duration.toMillis(decided.right)
          router.dispatch()
          yield* Effect.sleep(decided.right)
          slot.nextAttemptAt = undefined
          yield* emit(restartingEvent(slot.id, slot, decided.right, failure, nowOf(slot)))
          const next = yield* Effect.gen(function*() {
            // (A slot being removed is restarted too: the removal stops it, a cancelled one keeps
            // it. What the ended process left behind is being cleaned up meanwhile: `onExit`.)
            // Nothing to do if another hand replaced the process meanwhile (a health probe), or
            // the slot is no longer in the pool.
            if (pool.closed || slot.current !== ended || slots[slot.id] !== slot) return undefined
            countRestart(slot)
            return yield* spawnInto(slot).pipe(Effect.option)
          }).pipe(slot.lifecycle.withPermits(1))
          if (next === undefined) return
          if (Option.isSome(next)) {
            ended = next.value
            const ready = yield* Effect.either(Deferred.await(next.value.ready))
            if (ready._tag === "Right") return
            failure = { code: ready.left.exitCode, signal: ready.left.signal, at: nowOf(slot) }
          } else {
            failure = { code: null, signal: null, at: nowOf(slot) }
          }
          trialFailed = onTrial(slot)
        }
      }).pipe(Effect.annotateLogs({ instance: slot.id }))

    /**
     * The breaker trips: the instance rests for the policy's next cool-down (`cooling-down`, with
     * the time of its next attempt), then its restarts start afresh. False when the policy has no
     * cool-down left (`coolDown: "never"`, or its schedule done): the caller gives up.
     */
    const coolDown = (slot: Slot, reason: string): Effect.Effect<boolean> =>
      Effect.gen(function*() {
        const delay = yield* trip(slot)
        if (Option.isNone(delay)) return false
        const now = yield* Clock.currentTimeMillis
        const until = now + Duration.toMillis(delay.value)
        slot.state = "cooling-down"
        slot.nextAttemptAt = until
        slot.lastError = `restarts paused (${reason}); next attempt at ${new Date(until).toISOString()}`
        metrics.trip()
        // waiters that cannot be served before then fail now (`router.ts`)
        router.dispatch()
        yield* emit({
          _tag: "CoolingDown",
          instance: slot.id,
          trip: slot.trips,
          delayMillis: Duration.toMillis(delay.value),
          until: new Date(until),
          reason,
          at: new Date(now)
        })
        yield* Effect.logWarning(`instance ${slot.id}: ${reason}; cooling down for ${Duration.format(delay.value)}`)
        yield* Effect.sleep(delay.value)
        yield* rearm(slot)
        slot.requestsAtRearm = slot.requests
        return true
      })

    /**
     * Starts an instance again at once after an exit the pool caused itself (its interrupt while
     * healing): no delay, no count against the intensity limit.
     */
    const restartOwn = (slot: Slot, ended: Incarnation): Effect.Effect<void> =>
      Effect.gen(function*() {
        const next = yield* Effect.suspend(() => {
          if (pool.closed || slot.current !== ended || slots[slot.id] !== slot) return Effect.succeed(undefined)
          countRestart(slot)
          countSelfRestart(slot)
          return Effect.option(spawnInto(slot))
        }).pipe(slot.lifecycle.withPermits(1))
        if (next !== undefined && Option.isSome(next)) yield* Effect.ignore(Deferred.await(next.value.ready))
      }).pipe(Effect.annotateLogs({ instance: slot.id }))

    const giveUp = (slot: Slot, reason: string) =>
      Effect.suspend(() => {
        slot.state = "failed"
        slot.lastError = `gave up restarting: ${reason}`
        router.dispatch()
        return emit({ _tag: "GaveUp", instance: slot.id, reason, at: nowOf(slot) }).pipe(
          Effect.zipRight(Effect.logWarning(`gave up restarting instance ${slot.id}: ${reason}`))
        )
      })

    /**
     * Spawns a new incarnation into the slot; the caller holds the lifecycle lock. The slot takes
     * the incarnation inside the spawn, so that an interrupted caller cannot leave the process
     * without its slot.
     */
    const spawnInto = (slot: Slot): Effect.Effect<Incarnation, SpawnError> =>
      Effect.suspend(() => {
        slot.state = "starting"
        return Instance.spawn(slot.host, (inc) =>
          Effect.suspend(() => {
            slot.current = inc
            slot.servedByCurrent = 0
            return emit({ _tag: "Spawned", instance: slot.id, pid: inc.pid, at: inc.startedAt })
          }))
      }).pipe(
        Effect.tapError((error) =>
          Effect.sync(() => {
            slot.state = "failed"
            slot.lastError = error.message
          })
        ),
        Effect.withSpan("toolpool.spawn", { attributes: { instance: slot.id, command: options.command } })
      )

    /** Stops the slot's process, if any; the caller holds the lifecycle lock. */
    const stopSlot = (slot: Slot, final: State): Effect.Effect<void> =>
      Effect.suspend(() => {
        const inc = slot.current
        if (inc === undefined) {
          slot.state = final
          return Effect.void
        }
        slot.state = "stopping"
        return Instance.stop(inc, options).pipe(
          Effect.ensuring(Effect.sync(() => {
            slot.state = final
          })),
          Effect.zipRight(emit({ _tag: "Stopped", instance: slot.id, at: nowOf(slot) }))
        )
      })

    /**
     * Brings an instance back in sync after an abandoned turn: interrupt the tool (unless it is
     * known to end on SIGINT), and wait up to `healGrace` for the abandoned answer to come (the
     * framing is then in sync again); if it does not, restart the instance. Runs holding the
     * instance's turn lock.
     */
    const heal = (slot: Slot, inc: Incarnation): Effect.Effect<void> =>
      Effect.gen(function*() {
        const { interrupt } = options
        // An exit from here on is the interrupt's doing, not a crash (`onExit`).
        inc.healing = true
        if (interrupt === "SIGINT") {
          if (!interruptEndsTool) inc.process.interrupt()
        } else if (interrupt !== "none") yield* Effect.ignore(Instance.write(inc, inc.codec.encode(interrupt.input)))
        const answered = yield* Instance.within(
          options.healGrace,
          Effect.gen(function*() {
            while (inc.owed > 0) {
              yield* Instance.takeFrame(inc)
              inc.owed--
            }
          }).pipe(Effect.ignore)
        )
        // What the interruption itself made the tool print (a reply to an abort command, a
        // second prompt) comes right after: drop it too, until the tool is quiet, within a
        // healGrace of its own.
        const another = Instance.takeFrame(inc).pipe(
          Effect.timeoutTo({ duration: HEAL_QUIET, onSuccess: () => true, onTimeout: () => false }),
          Effect.withClock(liveClock)
        )
        const synced = answered && (yield* Instance.within(
          options.healGrace,
          Effect.gen(function*() {
            while (yield* another) {
              // dropped
            }
          }).pipe(Effect.ignore)
        ))
        if (synced || inc.broken !== undefined || pool.closed || slot.current !== inc) {
          // Still exiting on the interrupt, the exit is seen as the heal's; otherwise over.
          if (inc.broken === undefined) inc.healing = false
          return
        }
        yield* Effect.logWarning(`instance ${slot.id} did not recover from an abandoned turn: restarting it`)
        yield* replace(slot, inc)
      }).pipe(Effect.annotateLogs({ instance: slot.id }))

    /**
     * Stops the slot's process (if it is still `inc`) and starts a new one, holding the
     * lifecycle lock for that only: the wait for the new one to be ready is outside it, so that
     * a shutdown meanwhile is not held up by a tool that is slow to start.
     */
    const replace = (slot: Slot, inc: Incarnation): Effect.Effect<void> =>
      Effect.gen(function*() {
        // A process that ended on its own is the supervisor's to restart; a slot removed by
        // `resize` gets no new process.
        const ended = inc.broken !== undefined || slot.state === "exited" || slot.state === "backing-off"
        if (pool.closed || slot.current !== inc || ended || slots[slot.id] !== slot) {
          return undefined
        }
        yield* stopSlot(slot, "stopped")
        // the pool may have closed during the stop: then nothing new starts
        if (pool.closed) return undefined
        countRestart(slot)
        countSelfRestart(slot)
        return yield* spawnInto(slot)
      }).pipe(
        slot.lifecycle.withPermits(1),
        Effect.flatMap((next) => next === undefined ? Effect.void : Deferred.await(next.ready)),
        Effect.ignore
      )

    /**
     * Replaces an instance's process with a fresh one when it is idle (`maxRequests`,
     * `maxUptime`): the replacement is spawned and ready first, so capacity does not drop, then
     * takes over between two turns, and the old process is stopped.
     */
    const recycle = (slot: Slot): Effect.Effect<void> =>
      Effect.suspend(() => {
        const old = slot.current
        if (old === undefined || pool.closed || slot.recycling) return Effect.void
        slot.recycling = true
        // Whichever of the two processes does not serve when this ends is stopped, however it
        // ends. At shutdown it is left to `stopAll`, which stops it with all the others.
        const stopTheOther = (fresh: Incarnation) =>
          Effect.suspend(() => pool.closed ? Effect.void : Instance.stop(slot.current === fresh ? old : fresh, options))
        const takeOver = (fresh: Incarnation) =>
          Effect.gen(function*() {
            yield* Deferred.await(fresh.ready)
            return yield* Effect.gen(function*() {
              // Only over the process it was started to replace, while that one still serves.
              const serving = slot.state === "ready" || slot.state === "busy"
              if (
                slot.current !== old || !serving || old.stopping || old.broken !== undefined || slot.retiring ||
                pool.closed || slots[slot.id] !== slot
              ) return false
              old.stopping = true
              slot.current = fresh
              slot.servedByCurrent = 0
              countSelfRestart(slot)
              if (slot.state === "ready" || slot.state === "busy") slot.state = "ready"
              yield* emit({ _tag: "Spawned", instance: slot.id, pid: fresh.pid, at: fresh.startedAt })
              router.dispatch()
              return true
              // the turn lock first, then the lifecycle lock, as healing takes them
            }).pipe(slot.lifecycle.withPermits(1), (effect) => slot.turn.withLock(effect))
          })
        return Effect.acquireUseRelease(Instance.spawn(slot.host), takeOver, stopTheOther).pipe(
          Effect.flatMap((done) => done ? Effect.logDebug(`instance ${slot.id} recycled`) : Effect.void),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => {
            slot.recycling = false
          })),
          FiberSet.run(pool.background),
          Effect.asVoid
        )
      })

    return {
      supervisors,
      countRestart,
      onBroken,
      onExit,
      onReady,
      spawnInto,
      stopSlot,
      heal,
      recycle,
      replace
    }
  })
