/**
 * The pool's upkeep on a schedule: health probes, and recycling by uptime (`maxUptime`) and by
 * resident memory (`maxMemory`). Each picks instances and hands them to the supervisor's
 * `replace` or `recycle`.
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { TurnError, TurnOptions } from "../../ToolPool.js"
import { groupsResident } from "../process/memory.js"
import type { PoolCore, Slot } from "./slot.js"
import type { Supervisor } from "./supervisor.js"

/** @internal */
export const makeUpkeep = (pool: PoolCore, supervisor: Pick<Supervisor, "recycle" | "replace">) => {
  const { slots } = pool
  const { recycle, replace } = supervisor

  /**
   * Probes every idle ready instance on the schedule; one that fails its probe is restarted.
   * The probe is a turn like any other, made by `request` (`turn/turns.ts`).
   */
  const probeAll = (
    check: NonNullable<PoolCore["options"]["healthCheck"]>,
    request: (id: number, input: string, turn?: TurnOptions) => Effect.Effect<string, TurnError>
  ): Effect.Effect<void> => {
    const expect = check.expect === undefined ? undefined : new RegExp(check.expect)
    const probe = (slot: Slot) =>
      Effect.gen(function*() {
        if (slot.state !== "ready" || slot.pending > 0 || slot.retiring || pool.closed) return
        const inc = slot.current
        const outcome = yield* Effect.either(request(slot.id, check.input, { timeout: check.timeout }))
        const healthy = outcome._tag === "Right" && (expect === undefined || expect.test(outcome.right))
        if (healthy || pool.closed || slot.current !== inc || inc === undefined) return
        yield* Effect.logWarning(`instance ${slot.id} failed its health probe: restarting it`)
        yield* replace(slot, inc)
      })
    return Effect.forEach(slots.slice(), probe, { concurrency: "unbounded", discard: true })
  }

  /** Recycles instances that have been up longer than `maxUptime`, when idle. */
  const recycleOld = (maxUptime: Duration.Duration): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.forEach(
        slots.filter((slot) =>
          slot.current !== undefined && slot.state === "ready" && slot.pending === 0 &&
          now - slot.current.startedAt.getTime() >= Duration.toMillis(maxUptime)
        ),
        recycle,
        { discard: true }
      ))

  /** Recycles instances whose process group holds more than `maxMemory` bytes resident. */
  const recycleLarge = (maxMemory: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      const serving = slots.filter((slot) =>
        slot.current?.process.group !== undefined && (slot.state === "ready" || slot.state === "busy") &&
        !slot.recycling
      )
      const groups = new Set(serving.flatMap((slot) => slot.current?.process.group ?? []))
      const resident = groupsResident(groups)
      const large = serving.filter((slot) => {
        const group = slot.current?.process.group
        return group !== undefined && (resident.get(group) ?? 0) > maxMemory
      })
      return Effect.forEach(
        large,
        (slot) =>
          Effect.logInfo(
            `instance ${slot.id} holds ${
              resident.get(slot.current?.process.group ?? 0)
            } bytes, over maxMemory: replacing it`
          ).pipe(Effect.zipRight(recycle(slot))),
        { discard: true }
      )
    })

  return { probeAll, recycleOld, recycleLarge }
}
