/**
 * Processes in memory: the edge `ToolPoolTest` runs the real pool over. Each process is a fiber
 * that takes the writes to its stdin one at a time and runs the script's handler on each; its
 * output goes to the pool's listener as a real process's would, held back while the pool pauses
 * it. Signals and exits follow a real process: SIGINT interrupts the handler in progress,
 * SIGTERM and SIGKILL end the process, the end of stdin ends it once the writes before are done.
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Queue from "effect/Queue"
import type * as Transport from "../../Transport.js"
import type { Edge } from "./transport.js"
import { makeTransport } from "./transport.js"

/** Beyond any real pid (Linux's pid_max is at most 2^22). */
let nextPid = 10_000_000

const encoder = new TextEncoder()
const bytesOf = (text: string | Uint8Array): Uint8Array => typeof text === "string" ? encoder.encode(text) : text

type Item = { readonly text: string; readonly bytes: number; readonly written: (() => void) | undefined } | "eof"

const start = (script: Transport.Script) => (spec: Transport.Spec) =>
  Effect.gen(function*() {
    // The transport spawns inside an uninterruptible region, and a runtime captured there would
    // fork uninterruptible fibers: the process's fibers must end when it does.
    const runtime = yield* FiberSet.makeRuntime<never>()
    const run = <A>(effect: Effect.Effect<A>) => runtime(Effect.interruptible(effect))
    const pid = nextPid++
    const inputs = yield* Queue.unbounded<Item>()
    const resumed = yield* Effect.makeLatch(true)
    const decoder = new TextDecoder()
    let listener: Transport.Listener | undefined
    let exited = false
    let buffered = 0
    let current: Fiber.RuntimeFiber<void> | undefined
    let main: Fiber.RuntimeFiber<void> | undefined

    const exit = (code: number | null, signal: NodeJS.Signals | null = null): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (exited) return Effect.void
        exited = true
        listener?.exit(code, signal)
        listener?.closed()
        const fibers = [current, main].filter((fiber) => fiber !== undefined)
        // The process's fibers end, but not the one running this (it may be one of them).
        return Effect.forkDaemon(Effect.forEach(fibers, Fiber.interrupt))
      }).pipe(Effect.asVoid)

    const output =
      (deliver: (listener: Transport.Listener, bytes: Uint8Array) => void) =>
      (text: string | Uint8Array): Effect.Effect<void> =>
        Effect.zipRight(
          resumed.await,
          Effect.sync(() => {
            if (!exited && listener !== undefined) deliver(listener, bytesOf(text))
          })
        )

    const io: Transport.ScriptedIo = {
      pid,
      spec,
      stdout: output((l, bytes) => l.stdout(bytes)),
      stderr: output((l, bytes) => l.stderr(bytes)),
      exit: (code, signal) => exit(code, signal ?? null)
    }

    const loop = Effect.gen(function*() {
      const handle = yield* script.start(io)
      while (true) {
        const item = yield* Queue.take(inputs)
        if (item === "eof") return yield* exit(0)
        buffered -= item.bytes
        item.written?.()
        const fiber = yield* Effect.fork(Effect.interruptible(handle(item.text)))
        current = fiber
        const result = yield* Fiber.await(fiber)
        current = undefined
        // A script that fails or dies crashes its process, as an uncaught error would: the
        // reason on stderr, exit code 70 (EX_SOFTWARE).
        if (Exit.isFailure(result) && !Cause.isInterruptedOnly(result.cause)) {
          yield* io.stderr(`${Cause.pretty(result.cause)}\n`)
          return yield* exit(70)
        }
      }
    })

    const interrupt = () => {
      const fiber = current
      if (fiber !== undefined) run(Fiber.interrupt(fiber))
    }

    const signal = (signal: NodeJS.Signals | 0): boolean => {
      if (exited) return false
      if (signal === 0 || (signal !== "SIGKILL" && script.ignore?.includes(signal))) return true
      if (signal === "SIGINT") interrupt()
      else run(exit(null, signal))
      return true
    }

    const edge: Edge = {
      pid,
      terminal: false,
      listen: (l) => {
        listener = l
        main = run(loop)
      },
      stdin: {
        buffered: () => buffered,
        write: (text, written) => {
          if (exited) return
          const decoded = typeof text === "string" ? text : decoder.decode(text, { stream: true })
          const bytes = typeof text === "string" ? Buffer.byteLength(text) : text.byteLength
          buffered += bytes
          inputs.unsafeOffer({ text: decoded, bytes, written })
        },
        end: () => {
          inputs.unsafeOffer("eof")
        }
      },
      pause: () => resumed.unsafeClose(),
      resume: () => resumed.unsafeOpen(),
      signal: (sig) => signal(sig),
      interrupt,
      release: () => {}
    }
    return edge
  })

/** @internal */
export const scripted = (script: Transport.Script): Transport.Transport =>
  makeTransport("scripted", (spec) => start(script)(spec))
