/**
 * A process's stdin, written straight to the transport. While fewer than `capacity` writes are still
 * in Node's buffer (not yet handed to the OS), a write goes out at once; beyond that, writers
 * queue in order and go out as the pipe drains. So a tool that reads nothing holds its writers
 * back (`send` back-pressures) and memory stays bounded by `capacity` inputs (plus one).
 * @internal
 */
import type * as Transport from "../../Transport.js"

/** What goes to a tool's stdin: bytes, or text (written as UTF-8, without a copy into a Buffer first). @internal */
export type Input = string | Uint8Array

interface Waiter {
  readonly bytes: Input
  /** true once written; false if stdin ended first. */
  readonly done: (written: boolean) => void
}

/** @internal */
export class Stdin {
  private inFlight = 0
  private readonly waiters: Array<Waiter> = []
  private closed = false

  constructor(private readonly pipe: Transport.Stdin, private readonly capacity: number) {}

  /** Whether stdin was ended (or given up): writes are refused from then on. */
  get ended(): boolean {
    return this.closed
  }

  /** Writes now if nobody waits and there is room; false otherwise. */
  tryWrite(bytes: Input): boolean {
    if (this.closed || this.waiters.length > 0 || this.inFlight >= this.capacity) return false
    this.writeNow(bytes)
    return true
  }

  /**
   * Writes `bytes` when its turn and room come, then calls `done(true)`; `done(false)` if stdin
   * is ended first. Returns the function that withdraws the write, if it has not gone out yet.
   */
  enqueue(bytes: Input, done: (written: boolean) => void): () => void {
    if (this.closed) {
      done(false)
      return () => {}
    }
    const waiter: Waiter = { bytes, done }
    this.waiters.push(waiter)
    this.flush()
    return () => {
      const at = this.waiters.indexOf(waiter)
      if (at !== -1) this.waiters.splice(at, 1)
    }
  }

  /** Closes the pipe once what was written has gone out; queued writers are refused. */
  end(): void {
    if (this.closed) return
    this.abort()
    this.pipe.end()
  }

  /** Refuses every queued and later write, leaving the pipe as it is (the process is gone). */
  abort(): void {
    this.closed = true
    for (const waiter of this.waiters.splice(0)) waiter.done(false)
  }

  private writeNow(bytes: Input): void {
    // Into an empty buffer the bytes go straight to the OS (at worst this one write stays in
    // the buffer, uncounted): no callback to wait for, which saves a tick per turn.
    if (this.pipe.buffered() === 0) {
      this.pipe.write(bytes)
      return
    }
    this.inFlight++
    this.pipe.write(bytes, this.written)
  }

  /** A write reached the OS (or failed: the pipe's 'error' listener reports that). */
  private readonly written = (): void => {
    this.inFlight--
    this.flush()
  }

  private flush(): void {
    while (!this.closed && this.inFlight < this.capacity) {
      const waiter = this.waiters.shift()
      if (waiter === undefined) return
      this.writeNow(waiter.bytes)
      waiter.done(true)
    }
  }
}
