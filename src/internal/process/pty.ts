/**
 * The pseudo-terminal transport, over the optional dependency node-pty, loaded at the first
 * spawn. docs/transports.md says what a terminal changes for the pool; in short:
 *
 * - The tool's stdout and stderr are the terminal: one stream, with echo and CR LF. node-pty is
 *   asked for bytes (`encoding: null`), so UTF-8 split across reads stays exact.
 * - `TERM=dumb` unless the spec sets `TERM`: colour, cursor movement and readline's redrawing
 *   are what a program reading the output has to strip, and "dumb" turns most of them off.
 * - The tool starts on a non-canonical terminal (`stty -icanon`, run by `sh` just before it
 *   `exec`s the tool): in canonical mode Linux keeps at most 4095 bytes of a line and silently
 *   drops the rest, so a long input would arrive cut. `-echoctl` keeps the echo of a newline a
 *   newline (not "^J"), `-ixon` keeps ^S and ^Q in the input from stopping the output. Tools
 *   with a line editor (readline) set their own mode while they read and restore this one.
 * - There is no stdin to close: `end` sends ^D, which ends the input of a tool reading through
 *   a line editor at an empty line; a tool reading the terminal as it is set up here sees the
 *   byte 0x04 (the pool's stop goes on to signals). `interrupt` sends ^C.
 * - node-pty reports neither a missing executable nor a bad cwd (its helper prints the error on
 *   the terminal and exits 1), so both are checked before the spawn.
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as NodePty from "node-pty"
import { constants as fs } from "node:fs"
import { access, stat } from "node:fs/promises"
import { constants as os } from "node:os"
import { delimiter, isAbsolute, join, resolve } from "node:path"
import * as Transport from "../../Transport.js"
import type { Edge } from "./transport.js"
import { errnoReason, makeTransport, processEnv, signalPid } from "./transport.js"

/**
 * Run by `sh -c`, with the tool as `$0` and its arguments as `$@`. The marker it prints once the
 * terminal is set up tells the transport that input can go out: bytes written before `stty` ran
 * would meet the canonical terminal (and its line limit). The marker never reaches the listener.
 */
const setUpTerminal =
  "stty -icanon -echoctl -ixon min 1 time 0 && printf '\\033]toolpool;ready\\007' && exec \"$0\" \"$@\""
const ready = Buffer.from("\x1b]toolpool;ready\x07")

const defaults = { cols: 200, rows: 50 }

/** @internal */
export const pty = (options: Transport.PtyOptions = {}): Transport.Transport => {
  const size = { cols: options.cols ?? defaults.cols, rows: options.rows ?? defaults.rows }
  return makeTransport("pty", (spec) => start(spec, size))
}

const start = (
  spec: Transport.Spec,
  size: { readonly cols: number; readonly rows: number }
): Effect.Effect<Edge, Transport.TransportError> =>
  Effect.gen(function*() {
    const nodePty = yield* load
    const env = terminalEnv(spec)
    const cwd = spec.cwd ?? process.cwd()
    yield* Effect.tryPromise({ try: () => access(cwd), catch: (error) => errnoReason(error, "BadCwd") })
    yield* findExecutable(spec.command, cwd, env.PATH)
    const terminal = yield* Effect.try({
      try: () =>
        nodePty.spawn("/bin/sh", ["-c", setUpTerminal, spec.command, ...spec.args], {
          name: env.TERM ?? "dumb",
          cols: size.cols,
          rows: size.rows,
          cwd,
          env,
          encoding: null
        }),
      catch: errnoReason
    })
    return new Terminal(terminal).edge()
  })

const load: Effect.Effect<typeof NodePty, Transport.TransportError> = Effect.tryPromise({
  try: () => import("node-pty"),
  catch: (error) =>
    new Transport.TransportError({
      reason: "Unsupported",
      detail: `the pty transport needs the optional dependency node-pty, which could not be loaded (${
        error instanceof Error ? error.message : String(error)
      }): npm install node-pty, and allow its install script (npm install-scripts approve node-pty)`
    })
})

const terminalEnv = (spec: Transport.Spec): Record<string, string> => {
  // The parent's own terminal is not the tool's: its TERM and size would be wrong here.
  const parentTerminal = new Set(["TERM", "COLUMNS", "LINES"])
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(processEnv(spec))) {
    if (value !== undefined && !(parentTerminal.has(key) && !(key in spec.env))) env[key] = value
  }
  return env
}

/**
 * Where `sh` will find `command`, as `execvp` looks: a name with a slash as it is, else the
 * first executable file of that name on PATH. NotFound when there is none; PermissionDenied
 * when the only files of that name cannot be executed.
 */
const findExecutable = (
  command: string,
  cwd: string,
  path: string | undefined
): Effect.Effect<string, Transport.TransportError> =>
  Effect.promise(async () => {
    const candidates = command.includes("/")
      ? [isAbsolute(command) ? command : resolve(cwd, command)]
      : (path ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter).filter((dir) => dir !== "").map((dir) =>
        join(resolve(cwd, dir), command)
      )
    let denied = false
    for (const candidate of candidates) {
      const found = await stat(candidate).catch(() => undefined)
      if (found === undefined) continue
      if (found.isFile() && (await access(candidate, fs.X_OK).then(() => true, () => false))) return candidate
      denied = true
    }
    return denied ? "PermissionDenied" as const : "NotFound" as const
  }).pipe(
    Effect.flatMap((found) =>
      found === "NotFound" || found === "PermissionDenied"
        ? Effect.fail(
          new Transport.TransportError({
            reason: found,
            detail: found === "NotFound"
              ? `${command}: no such executable${command.includes("/") ? "" : " on PATH"}`
              : `${command}: not an executable file`
          })
        )
        : Effect.succeed(found)
    )
  )

const signalNames = new Map<number, string>(Object.entries(os.signals).map(([name, number]) => [number, name]))

/** A write held until the terminal is set up. */
interface Held {
  readonly bytes: string | Buffer
  readonly written: (() => void) | undefined
}

const encoder = new TextEncoder()

/** How often the writes queued in node-pty are looked at while a writer waits for them to drain. */
const DRAIN_POLL_MILLIS = 5

/**
 * The bytes node-pty has queued and not yet written to the terminal. node-pty 1.x keeps them in a
 * private queue (`_writeStream._writeQueue`: it retries on EAGAIN, without a callback or a
 * count to read); 0 when that queue is not where it is expected (another version), and writes
 * then are not held back.
 */
const writeQueueOf = (pty: NodePty.IPty): Array<unknown> | undefined => {
  const queue: unknown = (pty as unknown as { readonly _writeStream?: { readonly _writeQueue?: unknown } })
    ._writeStream?._writeQueue
  return Array.isArray(queue) ? queue : undefined
}

const queuedIn = (pty: NodePty.IPty): number => {
  const queue = writeQueueOf(pty)
  if (queue === undefined) return 0
  let bytes = 0
  for (const task of queue as ReadonlyArray<{ readonly buffer: Buffer; readonly offset: number }>) {
    bytes += task.buffer.byteLength - task.offset
  }
  return bytes
}

/** A writer waiting for its bytes to leave node-pty's queue. */
interface Draining {
  /** Where its bytes end, counted over all that was handed to node-pty. */
  readonly end: number
  readonly written: () => void
}

/**
 * A started pseudo-terminal as the pool drives it. Until the wrapper's marker arrives, output is
 * kept (to take the marker out) and writes are held (the terminal may still be canonical).
 */
class Terminal {
  private listener: Transport.Listener | undefined = undefined
  /** An exit that came before `listen` (node-pty fires it once, listener or not). */
  private earlyExit: { readonly code: number; readonly signal: number } | undefined = undefined
  private exited = false
  /** The terminal is gone: writes go nowhere (node-pty would fail them with EBADF, and print it). */
  private closed = false
  private setUp = false
  private beforeMarker: Buffer = Buffer.alloc(0)
  private held: Array<Held> = []
  private heldBytes = 0
  /** Bytes handed to node-pty since the start. */
  private handed = 0
  private draining: Array<Draining> = []
  private drainTimer: ReturnType<typeof setTimeout> | undefined = undefined

  constructor(private readonly pty: NodePty.IPty) {
    // Nothing is read until someone listens: node-pty drops data that no handler hears.
    pty.pause()
    // Typed as text, but bytes with `encoding: null`.
    pty.onData((data: string | Uint8Array) => this.data(typeof data === "string" ? encoder.encode(data) : data))
    pty.onExit(({ exitCode, signal }) => this.exit(exitCode, signal ?? 0)) // node-pty closes the terminal when its tool is gone (an 'close' event of its own, not in IPty)
    ;(pty as unknown as { readonly on?: (event: "close", listener: () => void) => void }).on?.(
      "close",
      () => this.dropQueued()
    )
  }

  edge(): Edge {
    const pty = this.pty
    return {
      pid: pty.pid,
      group: pty.pid,
      terminal: true,
      listen: (listener) => this.listen(listener),
      stdin: {
        // What is held here, and what node-pty queued because the terminal could not take it:
        // a writer is told its bytes are written only once they have left that queue, so that a
        // tool that reads nothing holds its writers back (`stdin.ts`) as a pipe would.
        buffered: () => this.heldBytes + queuedIn(pty),
        write: (bytes, written) =>
          this.write(
            typeof bytes === "string" ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
            written
          ),
        end: () => this.write("\x04", undefined)
      },
      // One stream: stderr is the terminal too.
      pause: (stream) => {
        if (stream === "stdout") pty.pause()
      },
      resume: (stream) => {
        if (stream === "stdout") pty.resume()
      },
      // The tool leads its own session, so its pid is also its process group.
      signal: (signal, target) => {
        // Being ended: what node-pty still has queued goes nowhere, and its retries would race
        // the terminal's close (EBADF).
        if (signal === "SIGTERM" || signal === "SIGKILL" || signal === "SIGHUP") this.dropQueued()
        return signalPid(pty.pid, signal, target)
      },
      // Not held: a ^C is a signal, in any mode of the terminal.
      interrupt: () => {
        if (!this.closed) pty.write("\x03")
      },
      release: () => {
        // What a terminal does when it is closed; once the tool is gone, node-pty has closed the
        // terminal itself.
        this.dropQueued()
        if (!this.exited) signalPid(pty.pid, "SIGHUP", "group")
      }
    }
  }

  /**
   * Drops what node-pty still has queued for a terminal that is gone: nobody will read it, and
   * node-pty would go on retrying it on the closed terminal (and print EBADF errors).
   */
  private dropQueued(): void {
    this.closed = true
    const queue = writeQueueOf(this.pty)
    if (queue !== undefined) queue.length = 0
  }

  private listen(listener: Transport.Listener): void {
    this.listener = listener
    if (this.earlyExit !== undefined) this.report(this.earlyExit.code, this.earlyExit.signal)
    else this.pty.resume()
  }

  private write(bytes: string | Buffer, written: (() => void) | undefined): void {
    if (!this.setUp) {
      this.held.push({ bytes, written })
      this.heldBytes += Buffer.byteLength(bytes)
      return
    }
    if (this.closed) return written?.()
    this.pty.write(bytes)
    this.handed += Buffer.byteLength(bytes)
    if (written === undefined) return
    if (queuedIn(this.pty) === 0) return written()
    this.draining.push({ end: this.handed, written })
    this.watchDrain()
  }

  /** Tells the waiting writers, in order, once their bytes have left node-pty's queue. */
  private watchDrain(): void {
    if (this.drainTimer !== undefined) return
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined
      if (this.exited) {
        this.draining = []
        return
      }
      const gone = this.handed - queuedIn(this.pty)
      while (this.draining.length > 0 && (this.draining[0]?.end ?? Infinity) <= gone) this.draining.shift()?.written()
      if (this.draining.length > 0) this.watchDrain()
    }, DRAIN_POLL_MILLIS)
    // the terminal keeps the program alive while the tool runs; this timer should not
    this.drainTimer.unref()
  }

  private data(bytes: Uint8Array): void {
    if (this.setUp) {
      this.listener?.stdout(bytes)
      return
    }
    this.beforeMarker = Buffer.concat([this.beforeMarker, bytes])
    const at = this.beforeMarker.indexOf(ready)
    if (at === -1) return
    const rest = Buffer.concat([this.beforeMarker.subarray(0, at), this.beforeMarker.subarray(at + ready.length)])
    this.beforeMarker = Buffer.alloc(0)
    this.setUp = true
    for (const { bytes, written } of this.held.splice(0)) this.write(bytes, written)
    this.heldBytes = 0
    if (rest.length > 0) this.listener?.stdout(rest)
  }

  /** node-pty fires this once the terminal's output has ended (or 200 ms after the exit). */
  private exit(code: number, signal: number): void {
    this.exited = true
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer)
    this.drainTimer = undefined
    this.draining = []
    this.dropQueued()
    if (this.listener === undefined) this.earlyExit = { code, signal }
    else this.report(code, signal)
  }

  private report(code: number, signal: number): void {
    const listener = this.listener
    if (listener === undefined) return
    // Set-up failed (no stty, say): what it printed is all the output there is.
    if (!this.setUp && this.beforeMarker.length > 0) listener.stdout(this.beforeMarker)
    listener.closed()
    if (signal === 0) listener.exit(code, null)
    else listener.exit(null, signalNames.get(signal) ?? `signal ${signal}`)
  }
}
