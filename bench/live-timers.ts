/**
 * A preload that finds what keeps a Node process alive: it records where every ref'd
 * `setTimeout` and `setInterval` still pending was made, and prints them (with
 * `process.getActiveResourcesInfo()`) on SIGUSR2. An Effect fiber waiting in `Effect.never`
 * shows up as an interval of 2^31 - 1 ms made in `core.ts`, a fiber in `Effect.sleep` as a
 * timeout made in `clock.ts`.
 *
 *   node --import tsx --import ./bench/live-timers.ts bench/main.ts --only cluster --quick
 *   kill -USR2 <pid>
 */
interface Made {
  readonly kind: "timeout" | "interval"
  readonly ms: number | undefined
  readonly stack: string
}

const live = new Map<NodeJS.Timeout, Made>()
const { clearInterval: clearEvery, clearTimeout: clear, setInterval: every, setTimeout: set } = globalThis
const madeAt = () => (new Error().stack ?? "").split("\n").slice(3, 15).join("\n")

const traced = {
  setTimeout: (callback: (...args: Array<unknown>) => void, ms?: number, ...args: Array<unknown>) => {
    const timer = set(
      (...given: Array<unknown>) => {
        live.delete(timer)
        callback(...given)
      },
      ms,
      ...args
    )
    live.set(timer, { kind: "timeout", ms, stack: madeAt() })
    return timer
  },
  clearTimeout: (timer: NodeJS.Timeout | undefined) => {
    if (timer !== undefined) live.delete(timer)
    clear(timer)
  },
  setInterval: (callback: (...args: Array<unknown>) => void, ms?: number, ...args: Array<unknown>) => {
    const timer = every(callback, ms, ...args)
    live.set(timer, { kind: "interval", ms, stack: madeAt() })
    return timer
  },
  clearInterval: (timer: NodeJS.Timeout | undefined) => {
    if (timer !== undefined) live.delete(timer)
    clearEvery(timer)
  }
}
Object.assign(globalThis, traced)

process.on("SIGUSR2", () => {
  const lines = [`active resources: ${process.getActiveResourcesInfo().join(", ")}`]
  const byPlace = new Map<string, number>()
  for (const [timer, { kind, ms, stack }] of live) {
    if (!timer.hasRef()) continue
    const place = `${kind} of ${ms} ms, made at\n${stack}`
    byPlace.set(place, (byPlace.get(place) ?? 0) + 1)
  }
  for (const [place, count] of byPlace) lines.push(`${count} x ${place}\n`)
  process.stderr.write(lines.join("\n") + "\n")
})
