/**
 * The client side: `submit` through the cluster.
 *
 * A keyed turn goes to the key's `Session` entity with the epoch this client saw last for the
 * key; the first turn of a key asks the session for its epoch (`Open`) before it is sent, so
 * that no turn is ever sent without one. A keyless turn goes to one of the client's lanes,
 * picked so that it avoids runners that just answered `PoolBusy`, until the acquire timeout runs out.
 * @internal
 */
import type { Sharding } from "@effect/cluster/Sharding"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ClusterError } from "../../ClusterError.js"
import { ClusterTimeout, PoolBusy } from "../../ClusterError.js"
import type { Part } from "./protocol.js"
import { Lane, Session } from "./protocol.js"

/** How long a runner may wait for a free instance before a keyless turn tries another runner. */
const LANE_ACQUIRE = Duration.millis(50)

/** What a turn through the cluster returns. @internal */
export interface Submitted {
  readonly runner: string
  readonly instance: number
  readonly output: string
  readonly epoch: string
}

/** @internal */
export interface SubmitOptions {
  readonly key?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly inactivityTimeout?: Duration.DurationInput | undefined
  readonly acquireTimeout?: Duration.DurationInput | undefined
  readonly epoch?: string | undefined
}

/** @internal */
export interface ClientOptions {
  /** The longest a turn without a `timeout` of its own waits for an answer. */
  readonly maxWait: Duration.DurationInput
  /** How long a turn waits for a free instance when it gives no `acquireTimeout`. */
  readonly acquireTimeout: Duration.DurationInput
  /** How many lanes keyless turns spread over: enough that every runner holds a few. */
  readonly lanes: number
}

/** Remembers the epoch of the keys a client used lately; a forgotten key is opened again. */
class Epochs {
  private readonly byKey = new Map<string, string>()
  constructor(private readonly capacity: number) {}
  get(key: string): string | undefined {
    return this.byKey.get(key)
  }
  set(key: string, epoch: string): void {
    this.byKey.delete(key)
    this.byKey.set(key, epoch)
    if (this.byKey.size > this.capacity) {
      const oldest = this.byKey.keys().next()
      if (oldest.done !== true) this.byKey.delete(oldest.value)
    }
  }
}

const millis = (duration: Duration.DurationInput | undefined) =>
  duration === undefined ? undefined : Duration.toMillis(Duration.decode(duration))

/** A part of a streamed turn: the pool's parts, the last (`Done`) naming runner and epoch. @internal */
export type Part = typeof Part.Type

/** @internal */
export interface Client {
  readonly submit: (input: string, submit?: SubmitOptions) => Effect.Effect<Submitted, ClusterError>
  readonly submitStream: (input: string, submit?: SubmitOptions) => Stream.Stream<Part, ClusterError>
}

interface LaneState {
  epoch: string | undefined
  runner: string | undefined
}

/**
 * The cluster's own failures of a send: a full mailbox is a busy runner; the others need message
 * storage, which toolpool does not use, so they are bugs.
 */
const own = (error: ClusterError | { readonly _tag: string }): Effect.Effect<never, ClusterError> => {
  switch (error._tag) {
    case "MailboxFull":
      return Effect.fail(new PoolBusy({ runner: "(mailbox)", queued: 0, reason: "the session's mailbox is full" }))
    case "AlreadyProcessingMessage":
    case "PersistenceError":
      return Effect.die(error)
    default:
      return Effect.fail(error as ClusterError)
  }
}

const sent = <A>(effect: Effect.Effect<A, ClusterError | { readonly _tag: string }>) => Effect.catchAll(effect, own)

const sentStream = <A>(stream: Stream.Stream<A, ClusterError | { readonly _tag: string }>) =>
  Stream.catchAll(stream, (error) => Stream.fromEffect(own(error)))

/** @internal */
export const make = (options: ClientOptions): Effect.Effect<Client, never, Sharding | Scope.Scope> =>
  Effect.gen(function*() {
    const session = yield* Session.client
    const lane = yield* Lane.client
    const epochs = new Epochs(65_536)
    const LANES = options.lanes
    const lanes: Array<LaneState> = Array.from({ length: LANES }, () => ({ epoch: undefined, runner: undefined }))
    const defaultAcquire = Duration.decode(options.acquireTimeout)

    const payload = (input: string, epoch: string, submit: SubmitOptions, acquireTimeout: Duration.DurationInput) => ({
      input,
      epoch,
      timeout: millis(submit.timeout),
      inactivityTimeout: millis(submit.inactivityTimeout),
      acquireTimeout: millis(acquireTimeout)
    })

    /** The epoch the caller saw last for `key`, or the session's, asked for now. */
    const epochOf = (key: string, submit: SubmitOptions) => {
      const known = submit.epoch ?? epochs.get(key)
      return known === undefined
        ? Effect.map(sent(session(key).Open()), (opened) => opened.epoch)
        : Effect.succeed(known)
    }

    const remember = (key: string) => (error: ClusterError) =>
      Effect.sync(() => error._tag === "SessionReset" && epochs.set(key, error.epoch))

    const keyed = (key: string, input: string, submit: SubmitOptions) =>
      Effect.flatMap(
        epochOf(key, submit),
        (epoch) =>
          sent(session(key).Turn(payload(input, epoch, submit, submit.acquireTimeout ?? defaultAcquire))).pipe(
            Effect.tapError(remember(key)),
            Effect.tap((turned) => Effect.sync(() => epochs.set(key, turned.epoch)))
          )
      )

    const keyedStream = (key: string, input: string, submit: SubmitOptions) =>
      Stream.unwrap(
        Effect.map(epochOf(key, submit), (epoch) =>
          sentStream(session(key).TurnStream(payload(input, epoch, submit, submit.acquireTimeout ?? defaultAcquire)))
            .pipe(
              Stream.tapError(remember(key)),
              Stream.tap((part) =>
                Effect.sync(() => part._tag === "Done" && epochs.set(key, part.epoch))
              )
            ))
      )

    /** A lane whose runner is not known to be busy now, starting at a random one, opened. */
    const pickLane = (busy: ReadonlySet<string>) =>
      Effect.gen(function*() {
        const start = yield* Random.nextIntBetween(0, LANES)
        let index = start
        for (let i = 0; i < LANES; i++) {
          const runner = lanes[(start + i) % LANES]?.runner
          if (runner === undefined || !busy.has(runner)) {
            index = (start + i) % LANES
            break
          }
        }
        const state = lanes[index] ?? { epoch: undefined, runner: undefined }
        const client = lane(String(index))
        if (state.epoch === undefined) {
          const opened = yield* sent(client.Open())
          state.epoch = opened.epoch
          state.runner = opened.runner
        }
        return { client, state, epoch: state.epoch }
      })

    const laneReset = (state: LaneState) => (error: ClusterError) =>
      Effect.sync(() => {
        if (error._tag === "SessionReset") {
          state.epoch = error.epoch
          state.runner = error.runner
        }
      })

    /**
     * After a runner answered `PoolBusy`: fails with it once the acquire timeout is spent, else
     * notes the runner as busy (all of them noted: a short pause, then anyone again).
     */
    const busyAgain = (busy: Set<string>, giveUp: number, error: PoolBusy) =>
      Effect.gen(function*() {
        busy.add(error.runner)
        const now = yield* Clock.currentTimeMillis
        if (now >= giveUp) return yield* error
        if (lanes.every((l) => l.runner === undefined || busy.has(l.runner))) {
          busy.clear()
          yield* Effect.sleep(Duration.millis(Math.min(20, giveUp - now)))
        }
      })

    const deadline = (submit: SubmitOptions) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) => now + Duration.toMillis(submit.acquireTimeout ?? defaultAcquire)
      )

    const keyless = (input: string, submit: SubmitOptions): Effect.Effect<Submitted, ClusterError> =>
      Effect.gen(function*() {
        const giveUp = yield* deadline(submit)
        const busy = new Set<string>()
        while (true) {
          const { client, epoch, state } = yield* pickLane(busy)
          const result = yield* sent(client.Turn(payload(input, epoch, submit, LANE_ACQUIRE))).pipe(
            Effect.tapError(laneReset(state)),
            Effect.either
          )
          if (result._tag === "Right") return result.right
          if (result.left._tag !== "PoolBusy") return yield* result.left
          yield* busyAgain(busy, giveUp, result.left)
        }
      })

    const keylessStream = (input: string, submit: SubmitOptions): Stream.Stream<Part, ClusterError> => {
      const attempt = (busy: Set<string>, giveUp: number): Stream.Stream<Part, ClusterError> =>
        Stream.unwrap(
          Effect.map(pickLane(busy), ({ client, epoch, state }) =>
            sentStream(client.TurnStream(payload(input, epoch, submit, LANE_ACQUIRE))).pipe(
              Stream.tapError(laneReset(state)),
              // a busy runner fails before the turn starts, so no part has been seen: try another
              Stream.catchAll((error) =>
                error._tag === "PoolBusy"
                  ? Stream.unwrap(Effect.as(busyAgain(busy, giveUp, error), attempt(busy, giveUp)))
                  : Stream.fail(error)
              )
            ))
        )
      return Stream.unwrap(Effect.map(deadline(submit), (giveUp) => attempt(new Set(), giveUp)))
    }

    /** How long a turn waits for an answer before it gives up with `ClusterTimeout`. */
    const boundOf = (submit: SubmitOptions) =>
      submit.timeout === undefined
        ? Duration.decode(options.maxWait)
        : Duration.sum(
          Duration.sum(Duration.decode(submit.timeout), Duration.decode(submit.acquireTimeout ?? defaultAcquire)),
          Duration.seconds(10)
        )

    return {
      submit: (input, submit = {}) => {
        const bound = boundOf(submit)
        return (submit.key === undefined ? keyless(input, submit) : keyed(submit.key, input, submit)).pipe(
          Effect.timeoutFail({
            duration: bound,
            onTimeout: () => new ClusterTimeout({ key: submit.key ?? null, waited: bound })
          })
        )
      },
      submitStream: (input, submit = {}) => {
        const bound = boundOf(submit)
        // bounds the wait for each part
        return (submit.key === undefined ? keylessStream(input, submit) : keyedStream(submit.key, input, submit)).pipe(
          Stream.timeoutFail(() => new ClusterTimeout({ key: submit.key ?? null, waited: bound }), bound)
        )
      }
    }
  })
