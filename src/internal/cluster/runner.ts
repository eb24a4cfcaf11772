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
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type { RunnerError } from "../../ClusterError.js"
import { SessionReset } from "../../ClusterError.js"
import * as ToolPool from "../../ToolPool.js"
import { leaseScoped } from "../turn/streams.js"
import type { Part } from "./protocol.js"
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

interface TurnPayload {
  readonly input: string
  readonly epoch: string
  readonly timeout?: number | undefined
  readonly inactivityTimeout?: number | undefined
  readonly acquireTimeout?: number | undefined
}

/** A part of a streamed turn on the wire: its end names the runner and the session's epoch. */
const partOf = (runner: string, epoch: string) => (part: ToolPool.StreamPart): typeof Part.Type => {
  switch (part._tag) {
    case "Done":
      return { _tag: "Done", runner, instance: part.instance, output: part.output, epoch }
    case "Result":
      // only `callStream` ends so, and sessions do not make calls
      return { _tag: "Done", runner, instance: part.instance, output: JSON.stringify(part.result), epoch }
    default:
      return part
  }
}

const wire = (runner: string) => (error: ToolPool.SubmitError | SessionReset): RunnerError =>
  error._tag === "SessionReset" ? error : toWire(runner, error)

const sessionHandlers = (sessions: Sessions) =>
  Effect.gen(function*() {
    const pool = yield* ToolPool.ToolPool
    const runner = yield* nameOf

    /**
     * The key's instance, held for the scope, once the session is known to be the one the caller
     * saw last: its epoch, and the same instance with the same process as at its last turn.
     */
    const lease = (key: string, payload: TurnPayload) =>
      Effect.gen(function*() {
        const held = sessions.current(key)
        if (payload.epoch !== held.epoch) {
          return yield* new SessionReset({ runner, key, expected: payload.epoch, epoch: held.epoch })
        }
        const { acquireTimeout } = payload
        const instance = yield* leaseScoped(pool.withInstance, {
          key,
          ...(acquireTimeout === undefined ? {} : { acquireTimeout })
        })
        const pid = Option.getOrNull(yield* pidOf(pool, instance))
        if (held.instance !== undefined && (held.instance !== instance || held.pid !== pid)) {
          // the tool that held the key's state is gone: a new session starts on this instance
          const fresh = sessions.rotate(key)
          fresh.instance = instance
          fresh.pid = pid
          return yield* new SessionReset({ runner, key, expected: payload.epoch, epoch: fresh.epoch })
        }
        held.instance = instance
        held.pid = pid
        return { instance, epoch: held.epoch }
      })

    return Session.of({
      Open: (request) => Effect.succeed({ runner, epoch: sessions.current(request.address.entityId).epoch }),
      Turn: (request) =>
        lease(request.address.entityId, request.payload).pipe(
          Effect.flatMap(({ epoch, instance }) =>
            Effect.map(
              pool.request(instance, request.payload.input, turnOptions(request.payload)),
              (output) => ({ runner, instance, output, epoch })
            )
          ),
          Effect.scoped,
          Effect.mapError(wire(runner))
        ),
      TurnStream: (request) =>
        Stream.unwrapScoped(Effect.map(
          lease(request.address.entityId, request.payload),
          ({ epoch, instance }) =>
            pool.requestStream(instance, request.payload.input, turnOptions(request.payload)).pipe(
              Stream.map(partOf(runner, epoch))
            )
        )).pipe(Stream.mapError(wire(runner)))
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
      },
      TurnStream: (request) => {
        const { acquireTimeout, input } = request.payload
        if (request.payload.epoch !== epoch) {
          return Stream.fail(
            new SessionReset({ runner, key: request.address.entityId, expected: request.payload.epoch, epoch })
          )
        }
        return pool.submitStream(input, {
          ...turnOptions(request.payload),
          ...(acquireTimeout === undefined ? {} : { acquireTimeout })
        }).pipe(Stream.map(partOf(runner, epoch)), Stream.mapError((e) => toWire(runner, e)))
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
