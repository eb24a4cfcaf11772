/**
 * Hands out idle instances to `submit` callers, first come first served.
 *
 * The one rule: dispatch on every change that can make an instance available (a turn ended,
 * an instance became ready, a waiter arrived). A waiter is handed an instance that is ready and
 * has no turn running or waiting; handing it over reserves it (`pending` goes up) until the
 * caller's turn ends. A caller no instance can serve before its acquire timeout (all cooling down,
 * failed or exited for good) fails at once with `PoolUnavailable` instead of waiting it out.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import { PoolBusy, PoolClosed, PoolUnavailable, UnknownInstance } from "../../ToolPoolError.js"

/**
 * How many `submit` keys the router remembers for affinity. Past it, the key used least
 * recently is forgotten, and gets a fresh pick when it comes back: a long run of distinct keys
 * (one per session, say) holds a bounded map instead of growing without end.
 * @internal
 */
export const AFFINITY_KEYS = 4096

/** What the router needs to see of an instance slot. @internal */
export interface Routable {
  readonly id: number
  readonly state: string
  /** Turns running or waiting on this instance. */
  pending: number
  /** Being removed: takes no new turns. */
  readonly retiring: boolean
}

/**
 * When an instance that cannot serve now may serve again: `"soon"` (starting, restarting, busy),
 * at a known time (epoch ms: cooling down), or `"never"` (failed, stopped, removed).
 * @internal
 */
export type Outlook = "soon" | "never" | number

interface Waiter<S> {
  readonly key: string | undefined
  /** Until when it waits (epoch ms, the pool's clock). */
  readonly until: number
  readonly deferred: Deferred.Deferred<S, PoolBusy | PoolUnavailable>
  handed: S | undefined
}

/** @internal */
export interface Router<S extends Routable> {
  /** An idle instance (the key's own while it lives), reserved for the caller. */
  readonly acquire: (
    key: string | undefined,
    timeout: Duration.Duration
  ) => Effect.Effect<S, PoolBusy | PoolUnavailable>
  /** An idle instance, reserved for the caller, if one can be had without waiting. */
  readonly tryAcquire: (key: string | undefined) => S | undefined
  /** Something changed that may let a waiter go. */
  readonly dispatch: () => void
  /** Waiters now queued. */
  readonly queued: () => number
  /** Keys remembered for affinity (at most `AFFINITY_KEYS`). */
  readonly affinityKeys: () => number
}

/** @internal */
export const makeRouter = <S extends Routable>(
  slots: ReadonlyArray<S>,
  maxQueue: number,
  onQueue: (depth: number) => void = () => {},
  outlook: (slot: S) => Outlook = (slot) => slot.state === "backing-off" ? "soon" : "never",
  now: () => number = Date.now
): Router<S> => {
  const waiters: Array<Waiter<S>> = []
  const affinity = new Map<string, S>()
  // Where the search for an idle instance starts, so that load spreads over all of them.
  let cursor = 0

  const alive = (slot: S) =>
    !slot.retiring && (slot.state === "ready" || slot.state === "busy" || slot.state === "starting")
  const idle = (slot: S) => slot.state === "ready" && slot.pending === 0 && !slot.retiring

  /** Keys are kept in the order of their last use (a Map iterates in insertion order). */
  const remember = (key: string, slot: S) => {
    affinity.delete(key)
    affinity.set(key, slot)
    if (affinity.size > AFFINITY_KEYS) {
      const oldest = affinity.keys().next()
      if (oldest.done !== true) affinity.delete(oldest.value)
    }
  }

  /** The instance for this key, if one can be had now; undefined if the caller must wait. */
  const pick = (key: string | undefined): S | undefined => {
    if (key !== undefined) {
      const own = affinity.get(key)
      if (own !== undefined && alive(own)) {
        remember(key, own)
        return idle(own) ? own : undefined
      }
      affinity.delete(key)
    }
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[(cursor + i) % slots.length]
      if (slot !== undefined && idle(slot)) {
        cursor = (slot.id + 1) % slots.length
        if (key !== undefined) remember(key, slot)
        return slot
      }
    }
    return undefined
  }

  const reserve = (slot: S): S => {
    slot.pending++
    return slot
  }

  /**
   * When the first instance may serve: undefined if one is running or will soon (a waiter may
   * wait), else the failure of those who cannot wait until then, with that time.
   */
  const unavailable = (): { readonly at: number | undefined; readonly error: () => PoolUnavailable } | undefined => {
    let at: number | undefined
    for (const slot of slots) {
      if (!slot.retiring && alive(slot)) return undefined
      const next = slot.retiring ? "never" : outlook(slot)
      if (next === "soon") return undefined
      if (next !== "never") at = at === undefined ? next : Math.min(at, next)
    }
    // the message is made only for those who get it: dispatch asks this at every change
    const error = () => {
      const counts = new Map<string, number>()
      for (const slot of slots) {
        const state = slot.retiring ? "being removed" : slot.state
        counts.set(state, (counts.get(state) ?? 0) + 1)
      }
      const states = [...counts].map(([state, n]) => `${n} ${state}`).join(", ")
      const wait = at === undefined ? "" : ` (in ${Duration.format(Duration.millis(Math.max(0, at - now())))})`
      return new PoolUnavailable({
        reason: `no instance is running or starting (${states})${wait}`,
        nextAttemptAt: at === undefined ? null : new Date(at)
      })
    }
    return { at, error }
  }

  /** Fails the waiters that no instance can serve before they give up; true if any are left. */
  const failHopeless = (): boolean => {
    const outlook = unavailable()
    if (outlook === undefined) return true
    for (let i = 0; i < waiters.length;) {
      const waiter = waiters[i]
      if (waiter !== undefined && (outlook.at === undefined || outlook.at > waiter.until)) {
        waiters.splice(i, 1)
        Deferred.unsafeDone(waiter.deferred, Effect.fail(outlook.error()))
      } else {
        i++
      }
    }
    onQueue(waiters.length)
    return waiters.length > 0
  }

  const dispatch = () => {
    // nobody waits (the common case at the end of a turn): nothing to hand over or to fail
    if (waiters.length === 0) return
    if (!failHopeless()) return
    // Strict FIFO, except that a waiter whose keyed instance is busy does not hold up the others.
    for (let i = 0; i < waiters.length;) {
      const waiter = waiters[i]
      if (waiter === undefined) break
      const slot = pick(waiter.key)
      if (slot === undefined) {
        if (waiter.key === undefined) return // no idle instance for anyone
        i++
        continue
      }
      waiters.splice(i, 1)
      onQueue(waiters.length)
      waiter.handed = reserve(slot)
      Deferred.unsafeDone(waiter.deferred, Effect.succeed(slot))
    }
  }

  const tryAcquire = (key: string | undefined): S | undefined => {
    if (waiters.length > 0) return undefined
    const slot = pick(key)
    return slot === undefined ? undefined : reserve(slot)
  }

  const acquire = (key: string | undefined, timeout: Duration.Duration): Effect.Effect<S, PoolBusy | PoolUnavailable> =>
    Effect.suspend(() => {
      const slot = tryAcquire(key)
      if (slot !== undefined) return Effect.succeed(slot)
      const until = now() + Duration.toMillis(timeout)
      const outlook = unavailable()
      if (outlook !== undefined && (outlook.at === undefined || outlook.at > until)) {
        return Effect.fail(outlook.error())
      }
      if (waiters.length >= maxQueue) {
        return Effect.fail(new PoolBusy({ queued: waiters.length, reason: "the wait queue is full" }))
      }
      const waiter: Waiter<S> = {
        key,
        until,
        deferred: Deferred.unsafeMake<S, PoolBusy | PoolUnavailable>(FiberId.none),
        handed: undefined
      }
      waiters.push(waiter)
      onQueue(waiters.length)
      return Deferred.await(waiter.deferred).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new PoolBusy({ queued: waiters.length, reason: "no instance became free in time" })
        }),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (exit._tag === "Success") return
            const at = waiters.indexOf(waiter)
            if (at !== -1) {
              waiters.splice(at, 1)
              onQueue(waiters.length)
              return
            }
            // handed an instance just as it gave up: give the instance back
            if (waiter.handed !== undefined) {
              waiter.handed.pending--
              dispatch()
            }
          })
        )
      )
    })

  return { acquire, tryAcquire, dispatch, queued: () => waiters.length, affinityKeys: () => affinity.size }
}

/**
 * The slot with this id, for the operations that name one: `UnknownInstance` for an id out of
 * range (or not an integer), `PoolClosed` once the pool is shut down.
 * @internal
 */
export const lookup = <S>(
  slots: ReadonlyArray<S>,
  closed: () => boolean,
  id: number
): Effect.Effect<S, UnknownInstance | PoolClosed> =>
  Effect.suspend((): Effect.Effect<S, UnknownInstance | PoolClosed> => {
    if (closed()) return Effect.fail(new PoolClosed())
    const slot = Number.isInteger(id) ? slots[id] : undefined
    return slot === undefined
      ? Effect.fail(new UnknownInstance({ instance: id, instances: slots.length }))
      : Effect.succeed(slot)
  })

/**
 * `acquireUseRelease` for a reservation whose wait must stay interruptible (by the caller, by
 * `acquireTimeout`): only `acquire` and `use` can be cut short. Once `acquire` has reserved,
 * `release` is in place before anything else runs, so no interruption can leave it reserved.
 * @internal
 */
export const useReserved = <S, A, E1, E2, R>(
  acquire: Effect.Effect<S, E1>,
  use: (reserved: S) => Effect.Effect<A, E2, R>,
  release: (reserved: S) => Effect.Effect<void>
): Effect.Effect<A, E1 | E2, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(acquire), (reserved) => Effect.ensuring(restore(use(reserved)), release(reserved)))
  )

/**
 * Shrinks `slots` to `size` for a resize: the slots past it take no new turns; once those in
 * flight are done (`finished`), each is removed (`remove`, all at once) and the array cut, and
 * nothing can cut that short. A caller who gives up while the turns finish leaves the instances
 * in service, as they were.
 * @internal
 */
export const retire = <S extends { retiring: boolean }>(
  slots: Array<S>,
  size: number,
  dispatch: () => void,
  finished: (slot: S) => Effect.Effect<void>,
  remove: (slot: S) => Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) => {
    const leaving = slots.slice(size)
    for (const slot of leaving) slot.retiring = true
    dispatch()
    const keep = Effect.sync(() => {
      for (const slot of leaving) slot.retiring = false
      dispatch()
    })
    return restore(Effect.forEach(leaving, finished, { concurrency: "unbounded", discard: true })).pipe(
      Effect.onInterrupt(() => keep),
      Effect.zipRight(Effect.forEach(leaving, remove, { concurrency: "unbounded", discard: true })),
      Effect.zipRight(Effect.sync(() => {
        slots.length = size
      }))
    )
  })
