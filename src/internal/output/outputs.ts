/**
 * The live output of a pool's instances, for `output(id)` and `stderr(id)`: each subscriber has a
 * bounded queue that drops its oldest chunk when full, so a subscriber that falls behind loses
 * output and never holds up the tool. With no subscriber, publishing is a map lookup.
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** Chunks kept per subscriber before the oldest go. */
const CAPACITY = 1024

type Key = `${number}:${"stdout" | "stderr"}`

/** @internal */
export class Outputs {
  private readonly subscribers = new Map<Key, Set<Queue.Enqueue<Uint8Array>>>()
  /** The queues of `stream`s, which `end` shuts down. */
  private readonly open = new Set<Queue.Queue<Uint8Array>>()

  /** Hands a chunk to whoever listens to this instance's stream. */
  publish(id: number, stream: "stdout" | "stderr", bytes: Uint8Array): void {
    if (this.subscribers.size === 0) return
    const queues = this.subscribers.get(`${id}:${stream}`)
    if (queues === undefined) return
    for (const queue of queues) queue.unsafeOffer(bytes)
  }

  /** Offers what the instance writes to `stream` to `queue`, for the life of the scope. */
  subscribe(
    id: number,
    stream: "stdout" | "stderr",
    queue: Queue.Enqueue<Uint8Array>
  ): Effect.Effect<void, never, Scope.Scope> {
    const key: Key = `${id}:${stream}`
    return Effect.acquireRelease(
      Effect.sync(() => {
        let queues = this.subscribers.get(key)
        if (queues === undefined) this.subscribers.set(key, queues = new Set())
        queues.add(queue)
      }),
      () =>
        Effect.sync(() => {
          const queues = this.subscribers.get(key)
          queues?.delete(queue)
          if (queues?.size === 0) this.subscribers.delete(key)
        })
    )
  }

  /** Everything the instance writes to `stream` from the moment the stream is run. */
  stream(id: number, stream: "stdout" | "stderr"): Stream.Stream<Uint8Array> {
    return Stream.unwrapScoped(Effect.gen(this, function*() {
      const queue = yield* Effect.acquireRelease(Queue.sliding<Uint8Array>(CAPACITY), Queue.shutdown)
      yield* this.subscribe(id, stream, queue)
      this.open.add(queue)
      yield* Effect.addFinalizer(() => Effect.sync(() => this.open.delete(queue)))
      return Stream.fromQueue(queue)
    }))
  }

  /** Ends every subscriber's stream (the pool has shut down). */
  end(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const all = [...this.open]
      this.open.clear()
      return Effect.forEach(all, (queue) => Queue.shutdown(queue), { discard: true })
    })
  }
}
