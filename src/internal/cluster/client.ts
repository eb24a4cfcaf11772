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
import type { ClusterError } from "../../ClusterError.js"
import { ClusterTimeout, PoolBusy } from "../../ClusterError.js"
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

/** @internal */
export const make = (
  options: ClientOptions
): Effect.Effect<
  (input: string, submit?: SubmitOptions) => Effect.Effect<Submitted, ClusterError>,
  never,
  Sharding | Scope.Scope
> =>
  Effect.gen(function*() {
    const session = yield* Session.client
    const lane = yield* Lane.client
    const epochs = new Epochs(65_536)
    const LANES = options.lanes
    const lanes: Array<{ epoch: string | undefined; runner: string | undefined }> = Array.from(
      { length: LANES },
      () => ({ epoch: undefined, runner: undefined })
    )
    const defaultAcquire = Duration.decode(options.acquireTimeout)

    // The cluster's own failures of a send: a full mailbox is a busy runner; the others need
    // message storage, which toolpool does not use, so they are bugs.
    const sent = <A>(effect: Effect.Effect<A, ClusterError | { readonly _tag: string }>) =>
      Effect.catchIf(
        effect,
        (e): e is { readonly _tag: "MailboxFull" } => e._tag === "MailboxFull",
        () => Effect.fail(new PoolBusy({ runner: "(mailbox)", queued: 0, reason: "the session's mailbox is full" }))
      ).pipe(
        Effect.catchIf(
          (e): e is { readonly _tag: "AlreadyProcessingMessage" | "PersistenceError" } =>
            e._tag === "AlreadyProcessingMessage" || e._tag === "PersistenceError",
          Effect.die
        )
      ) as Effect.Effect<A, ClusterError>

    const keyed = (key: string, input: string, submit: SubmitOptions) =>
      Effect.gen(function*() {
        const client = session(key)
        const epoch = submit.epoch ?? epochs.get(key) ?? (yield* sent(client.Open())).epoch
        const result = yield* sent(client.Turn({
          input,
          epoch,
          timeout: millis(submit.timeout),
          inactivityTimeout: millis(submit.inactivityTimeout),
          acquireTimeout: millis(submit.acquireTimeout ?? defaultAcquire)
        })).pipe(
          Effect.tapError((e) => Effect.sync(() => e._tag === "SessionReset" && epochs.set(key, e.epoch)))
        )
        epochs.set(key, result.epoch)
        return result
      })

    /** A lane whose runner is not known to be busy now, starting at a random one. */
    const pickLane = (busy: ReadonlySet<string>) =>
      Effect.map(Random.nextIntBetween(0, LANES), (start) => {
        for (let i = 0; i < LANES; i++) {
          const index = (start + i) % LANES
          const runner = lanes[index]?.runner
          if (runner === undefined || !busy.has(runner)) return index
        }
        return start
      })

    const keyless = (input: string, submit: SubmitOptions) =>
      Effect.gen(function*() {
        const acquire = submit.acquireTimeout === undefined ? defaultAcquire : Duration.decode(submit.acquireTimeout)
        const giveUp = (yield* Clock.currentTimeMillis) + Duration.toMillis(acquire)
        const busy = new Set<string>()
        while (true) {
          const index = yield* pickLane(busy)
          const state = lanes[index] ?? { epoch: undefined, runner: undefined }
          const client = lane(String(index))
          if (state.epoch === undefined) {
            const opened = yield* sent(client.Open())
            state.epoch = opened.epoch
            state.runner = opened.runner
          }
          const result = yield* sent(client.Turn({
            input,
            epoch: state.epoch,
            timeout: millis(submit.timeout),
            inactivityTimeout: millis(submit.inactivityTimeout),
            acquireTimeout: Duration.toMillis(LANE_ACQUIRE)
          })).pipe(
            Effect.tapError((e) =>
              Effect.sync(() => {
                if (e._tag === "SessionReset") {
                  state.epoch = e.epoch
                  state.runner = e.runner
                }
              })
            ),
            Effect.map((turned) => ({ _tag: "Done" as const, turned })),
            Effect.catchIf(
              (e): e is PoolBusy => e._tag === "PoolBusy",
              (e) => Effect.succeed({ _tag: "Busy" as const, error: e })
            )
          )
          if (result._tag === "Done") return result.turned
          busy.add(result.error.runner)
          const now = yield* Clock.currentTimeMillis
          if (now >= giveUp) return yield* result.error
          // every runner seen so far is busy: let the first one that frees up have the next try
          if (lanes.every((l) => l.runner === undefined || busy.has(l.runner))) {
            busy.clear()
            yield* Effect.sleep(Duration.millis(Math.min(20, giveUp - now)))
          }
        }
      })

    return (input: string, submit: SubmitOptions = {}) => {
      const bound = submit.timeout === undefined
        ? Duration.decode(options.maxWait)
        : Duration.sum(
          Duration.sum(Duration.decode(submit.timeout), Duration.decode(submit.acquireTimeout ?? defaultAcquire)),
          Duration.seconds(10)
        )
      const turn = submit.key === undefined ? keyless(input, submit) : keyed(submit.key, input, submit)
      return turn.pipe(
        Effect.timeoutFail({
          duration: bound,
          onTimeout: () => new ClusterTimeout({ key: submit.key ?? null, waited: bound })
        })
      )
    }
  })
