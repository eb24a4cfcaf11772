/**
 * The baseline: the same tool driven with nothing but `node:child_process` and `readline`,
 * written the way a careful Node programmer would without a library. No Effect in here.
 *
 * - Prompt mode: collect stdout until it ends with the prompt; what came before it, less the
 *   final line break, is the response (the first one is the banner, i.e. readiness).
 * - Lines mode: `readline` 'line' events, one response per line.
 * - Raw mode: only count the bytes that come through the pipe (the upper bound for a framing).
 */
import type { ChildProcessByStdio } from "node:child_process"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createInterface } from "node:readline"
import type { Readable, Writable } from "node:stream"
import * as Fixture from "./fixture.js"

type Child = ChildProcessByStdio<Writable, Readable, Readable>

/** Every child still alive, so that nothing outlives the benchmark even when it fails. */
const live = new Set<Child>()

/** SIGKILLs every baseline child still running (used on the way out). */
export const killAll = (): void => {
  for (const child of live) child.kill("SIGKILL")
}

/**
 * For a run or a probe: tools run from a temporary copy (`Fixture.useCopy`), and when this
 * process exits, every baseline child still running is killed and the copy removed.
 */
export const useToolCopy = (): void => {
  const removeCopy = Fixture.useCopy()
  process.on("exit", () => {
    killAll()
    removeCopy()
  })
}

interface Waiter {
  readonly resolve: (text: string) => void
  readonly reject: (error: Error) => void
}

/** One spawned tool with a FIFO of callers waiting for responses. */
abstract class Tool {
  readonly child: Child
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>
  protected readonly waiters: Array<Waiter> = []

  constructor(args: ReadonlyArray<string>) {
    // Detached, like the pool's tools: each one leads its own process group (and session,
    // hence its own scheduler autogroup on Linux, which changes how CPU is shared).
    const child = spawn(Fixture.command, args, { stdio: ["pipe", "pipe", "pipe"], detached: true })
    this.child = child
    live.add(child)
    // stderr is always drained, as the pool does, so a chatty tool never blocks.
    child.stderr.resume()
    child.stdin.on("error", () => {})
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        live.delete(child)
        const error = new Error(`tool ${child.pid} exited`)
        for (const waiter of this.waiters.splice(0)) waiter.reject(error)
        resolve()
      })
      child.once("error", () => resolve())
    })
  }

  protected next(): Promise<string> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  protected deliver(text: string): void {
    this.waiters.shift()?.resolve(text)
  }

  /** Writes one line and returns the response to it. */
  turn(input: string): Promise<string> {
    const response = this.next()
    this.child.stdin.write(input + "\n")
    return response
  }

  /** Ends stdin (the tool exits at EOF) and waits; SIGKILL if it takes more than a second. */
  async close(): Promise<void> {
    this.child.stdin.end()
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1000)
    await this.exited
    clearTimeout(timer)
  }

  /**
   * The same escalation the pool performs: close stdin, wait `grace`; SIGTERM, wait
   * `killAfter`; SIGKILL and wait for the exit.
   */
  async stop(graceMs: number, killAfterMs: number): Promise<void> {
    const exitedWithin = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms)
        void this.exited.then(() => {
          clearTimeout(timer)
          resolve(true)
        })
      })
    this.child.stdin.end()
    if (await exitedWithin(graceMs)) return
    this.child.kill("SIGTERM")
    if (await exitedWithin(killAfterMs)) return
    this.child.kill("SIGKILL")
    await this.exited
  }
}

/** The tool in its default mode: banner, then prompt "> " after every response. */
export class PromptTool extends Tool {
  /** Resolves when the first prompt has been seen. */
  readonly ready: Promise<void>
  private parts: Array<string> = []
  private tail = ""

  constructor(...flags: ReadonlyArray<string>) {
    super(Fixture.toolArgs("prompt", ...flags))
    this.ready = this.next().then(() => undefined)
    this.child.stdout.setEncoding("utf8")
    this.child.stdout.on("data", (text: string) => this.onData(text))
  }

  private onData(text: string): void {
    // Only the last few characters are checked, so a long response costs no rescans.
    this.tail = (this.tail + text).slice(-Fixture.PROMPT.length)
    this.parts.push(text)
    if (!this.tail.endsWith(Fixture.PROMPT)) return
    const whole = this.parts.join("")
    this.parts = []
    this.tail = ""
    const body = whole.slice(0, whole.length - Fixture.PROMPT.length)
    this.deliver(body.endsWith("\n") ? body.slice(0, -1) : body)
  }
}

/** The tool in `--lines` mode, read with `readline`. */
export class LinesTool extends Tool {
  /** Resolves once the process is spawned (the mode prints nothing before the first input). */
  readonly ready: Promise<void>

  constructor(...flags: ReadonlyArray<string>) {
    super(Fixture.toolArgs("lines", ...flags))
    this.ready = once(this.child, "spawn").then(() => undefined)
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on("line", (line) => this.deliver(line))
  }
}

/** The tool with its stdout only counted: how fast the pipe itself is. */
export class RawTool extends Tool {
  readonly ready: Promise<void>
  private received = 0
  private target = Infinity
  private onTarget: (() => void) | undefined

  constructor(readonly mode: "prompt" | "lines") {
    super(Fixture.toolArgs(mode))
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.received += chunk.length
      if (this.received >= this.target) this.onTarget?.()
    })
    // prompt mode: readiness is the banner line plus the prompt, whose length we know
    const banner = `mock-tool ready (pid ${this.child.pid})\n${Fixture.PROMPT}`
    this.ready = mode === "lines" ? once(this.child, "spawn").then(() => undefined) : this.expect(banner.length)
  }

  private expect(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.target = bytes
      this.onTarget = () => {
        this.received -= this.target
        this.target = Infinity
        this.onTarget = undefined
        resolve()
      }
      if (this.received >= this.target) this.onTarget()
    })
  }

  /** Asks for `bytes` filler bytes and resolves when all of them (and what ends them) arrived. */
  flood(bytes: number): Promise<void> {
    const done = this.expect(bytes + 1 + (this.mode === "prompt" ? Fixture.PROMPT.length : 0))
    this.child.stdin.write(`/flood ${bytes}\n`)
    return done
  }
}

/** `count` sequential turns on `tool`, each answer checked; the duration of each in milliseconds. */
export const latencies = async (tool: PromptTool, count: number): Promise<Array<number>> => {
  const samples: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    const answer = await tool.turn(Fixture.payload(i))
    samples.push(performance.now() - start)
    Fixture.checkReply("baseline", i, answer)
  }
  return samples
}

/**
 * One worker per tool, each taking `perWorker` turns in a row (worker `w` asks turns
 * `w * perWorker` onwards), every answer checked; the wall time in milliseconds. The baseline's
 * side of the throughput section and of the probes.
 */
export const busy = async (tools: ReadonlyArray<PromptTool>, perWorker: number): Promise<number> => {
  const start = performance.now()
  await Promise.all(tools.map(async (tool, w) => {
    for (let i = 0; i < perWorker; i++) {
      const turn = w * perWorker + i
      Fixture.checkReply("baseline", turn, await tool.turn(Fixture.payload(turn)))
    }
  }))
  return performance.now() - start
}
