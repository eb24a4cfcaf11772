/**
 * One timer per instance for the deadlines of its quick turns (`exchange.ts`), one turn at a time.
 *
 * A `setTimeout` and `clearTimeout` per turn cost about a tenth of a turn's CPU here: with no
 * other timer of the same duration, Node creates a timer list, queues it, and removes it again
 * each time. Deadlines of consecutive turns only move forward, so this keeps one timer and lets
 * it run: when it fires early for the current turn (it was set for an earlier one), it is set
 * again for the time left.
 * @internal
 */
/** Longer than this, Node fires a timer at once. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

export class Alarm {
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** When the timer fires (performance.now() time), if it is set. */
  private firesAt = Infinity
  private at = Infinity
  private onTime: (() => void) | undefined = undefined

  /**
   * Calls `onTime` after `millis` from `now` (a `performance.now()` time, by default the
   * present), unless `cancel` comes first. Replaces any earlier call.
   */
  set(millis: number, onTime: () => void, now: number = performance.now()): void {
    // Longer than a timer can wait (an infinite timeout among them): no deadline at all.
    if (!(millis <= MAX_TIMER_MILLIS)) return this.cancel()
    this.at = now + millis
    this.onTime = onTime
    if (this.timer === undefined || this.firesAt > this.at) this.arm(millis)
  }

  cancel(): void {
    this.onTime = undefined
  }

  private arm(millis: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.firesAt = performance.now() + millis
    // Unref'd: while a turn waits, the tool's pipes keep the program alive; between turns nothing should.
    this.timer = setTimeout(this.fire, millis).unref()
  }

  private readonly fire = (): void => {
    this.timer = undefined
    this.firesAt = Infinity
    const onTime = this.onTime
    if (onTime === undefined) return
    const left = this.at - performance.now()
    if (left > 0) return this.arm(Math.min(left, MAX_TIMER_MILLIS))
    this.onTime = undefined
    onTime()
  }
}
