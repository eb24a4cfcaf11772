/**
 * The runner side: the `Session` and `Lane` entities, served on top of the local pool.
 *
 * A session's epoch names the state its tool holds for the key. It is minted when this runner
 * first sees the key, and again when that state is found gone: the instance the key held was
 * restarted (another pid) or the key was given another instance. Since the table lives as long
 * as the runner process, an entity that idles out and comes back keeps its epoch; a runner that
 * stops or dies takes the table with it, so the key's next runner mints new epochs.
 * @internal
 */
import * as Entity from "@effect/cluster/Entity"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { SessionReset } from "../../ClusterError.js"
import * as ToolPool from "../../ToolPool.js"
import { Lane, Session, toWire } from "./protocol.js"

/** How many sessions a runner remembers; past it the one used least recently is forgotten. */
const SESSIONS = 4096

interface Held {
  readonly epoch: string
  /** The instance the key held at its last turn, and its pid then. */
  instance: number | undefined
  pid: number | null
}

/** The epochs of the sessions this runner serves. @internal */
export class Sessions {
  private readonly held = new Map<string, Held>()
  private minted = 0
  /** Unique to this runner process: epochs of another runner, or of this one before a restart, never match. */
  readonly token = randomUUID().slice(0, 8)

  /** The session of `key`, created when new. */
  current(key: string): Held {
    const found = this.held.get(key)
    if (found === undefined) return this.rotate(key)
    // kept in the order of last use (a Map iterates in insertion order)
    this.held.delete(key)
    this.held.set(key, found)
    return found
  }

  /** A new session for `key`, its state gone. */
  rotate(key: string): Held {
    const fresh: Held = { epoch: `${this.token}.${++this.minted}`, instance: undefined, pid: null }
    this.held.delete(key)
    this.held.set(key, fresh)
    if (this.held.size > SESSIONS) {
      const oldest = this.held.keys().next()
      if (oldest.done !== true) this.held.delete(oldest.value)
    }
    return fresh
  }
}

/** Durations arrive in milliseconds, which the pool takes as they are. */
const turnOptions = (
  payload: { readonly timeout?: number | undefined; readonly inactivityTimeout?: number | undefined }
): ToolPool.TurnOptions => ({
  ...(payload.timeout === undefined ? {} : { timeout: payload.timeout }),
  ...(payload.inactivityTimeout === undefined ? {} : { inactivityTimeout: payload.inactivityTimeout })
})

const nameOf = Effect.map(Entity.CurrentRunnerAddress, (address) => `${address.host}:${address.port}`)

const pidOf = (pool: ToolPool.ToolPool, instance: number) =>
  Effect.map(pool.status, (all) => Option.fromNullable(all.find((s) => s.id === instance)?.pid ?? null))

const sessionHandlers = (sessions: Sessions) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.ToolPool
    const runner = yield* nameOf
    return Session.of({
      Open: (request) => Effect.succeed({ runner, epoch: sessions.current(request.address.entityId).epoch }),
      Turn: (request) => {
        const key: string = request.address.entityId
        const { acquireTimeout, epoch, input } = request.payload
        const held = sessions.current(key)
        if (epoch !== held.epoch) {
          return Effect.fail(new SessionReset({ runner, key, expected: epoch, epoch: held.epoch }))
        }
        return pool.withInstance(
          (lease) =>
            Effect.gen(function*() {
              const pid = Option.getOrNull(yield* pidOf(pool, lease.instance))
              if (held.instance !== undefined && (held.instance !== lease.instance || held.pid !== pid)) {
                // the tool that held the key's state is gone: a new session starts on this instance
                const fresh = sessions.rotate(key)
                fresh.instance = lease.instance
                fresh.pid = pid
                return yield* new SessionReset({ runner, key, expected: epoch, epoch: fresh.epoch })
              }
              held.instance = lease.instance
              held.pid = pid
              const output = yield* lease.request(input, turnOptions(request.payload))
              return { runner, instance: lease.instance, output, epoch: held.epoch }
            }),
          { key, ...(acquireTimeout === undefined ? {} : { acquireTimeout }) }
        ).pipe(Effect.catchIf((e) => e._tag !== "SessionReset", (e) => Effect.fail(toWire(runner, e))))
      }
    })
  })

const laneHandlers = (sessions: Sessions) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.ToolPool
    const runner = yield* nameOf
    // A lane holds no state: its epoch is the runner's, and changes only when the runner does.
    const epoch = sessions.token
    return Lane.of({
      Open: () => Effect.succeed({ runner, epoch }),
      Turn: (request) => {
        const { acquireTimeout, input } = request.payload
        if (request.payload.epoch !== epoch) {
          return Effect.fail(
            new SessionReset({ runner, key: request.address.entityId, expected: request.payload.epoch, epoch })
          )
        }
        return pool.submit(input, {
          ...turnOptions(request.payload),
          ...(acquireTimeout === undefined ? {} : { acquireTimeout })
        }).pipe(
          Effect.map(({ instance, output }) => ({ runner, instance, output, epoch })),
          Effect.mapError((e) => toWire(runner, e))
        )
      }
    })
  })

/**
 * Registers both entities with the sharding of this runner, over the pool in the context.
 * @internal
 */
export const layerEntities: Layer.Layer<never, never, ToolPool.ToolPool | Sharding> = Layer.unwrapEffect(
  Effect.sync(() => {
    const sessions = new Sessions()
    return Layer.mergeAll(
      Session.toLayer(sessionHandlers(sessions)),
      // keyless turns need no order: as many at once as the pool takes
      Lane.toLayer(laneHandlers(sessions), { concurrency: "unbounded" })
    )
  })
)
