/**
 * What a decoder produces, and the interface every framing's decoder implements.
 *
 * Frames fall in three groups, and the pool routes them by tag:
 * - the end of a turn: `Response`, `TooLarge`, `Continuation` (and `RpcResponse` for JSON-RPC);
 * - news for the log only: `Skipped` (output that is not part of any response);
 * - JSON-RPC traffic the server starts: `RpcNotification`, `RpcRequest`.
 * @internal
 */
export type Frame =
  | Response
  | TooLarge
  | Continuation
  | Skipped
  | RpcResponse
  | RpcNotification
  | RpcRequest

/**
 * A complete response. `text` is the response as text; structured framings (ndjson) also
 * give `value`, the parsed messages of the turn.
 * @internal
 */
export interface Response {
  readonly _tag: "Response"
  readonly text: string
  readonly value?: unknown
}

/**
 * A response grew past `maxResponseBytes`; its bytes are dropped up to the next boundary.
 * JSON-RPC framings give the `id` when the start of the message names it, to find the call it answers.
 * @internal
 */
export interface TooLarge {
  readonly _tag: "TooLarge"
  readonly id?: RpcId
}

/**
 * The tool shows its continuation prompt (python's `... `): it waits for more input, the
 * request was incomplete. `text` is what it printed before that prompt.
 * @internal
 */
export interface Continuation {
  readonly _tag: "Continuation"
  readonly text: string
}

/** Output that no response contains (a non-JSON line in ndjson, a bad header), with why. @internal */
export interface Skipped {
  readonly _tag: "Skipped"
  readonly text: string
  readonly reason: string
}

/** A JSON-RPC id, as the peer sent it. @internal */
export type RpcId = string | number

/** The `error` member of a JSON-RPC error response. @internal */
export interface RpcErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

/**
 * A JSON-RPC response: `error` is set for an error response, else `result` holds the result.
 * `id` is null only in an error response to a request the peer could not read.
 * @internal
 */
export interface RpcResponse {
  readonly _tag: "RpcResponse"
  readonly id: RpcId | null
  readonly result: unknown
  readonly error: RpcErrorObject | undefined
  readonly text: string
}

/** A JSON-RPC notification from the tool (no id, no answer expected). @internal */
export interface RpcNotification {
  readonly _tag: "RpcNotification"
  readonly method: string
  readonly params: unknown
  readonly text: string
}

/** A JSON-RPC request from the tool to us, to be answered with the same id. @internal */
export interface RpcRequest {
  readonly _tag: "RpcRequest"
  readonly id: RpcId
  readonly method: string
  readonly params: unknown
  readonly text: string
}

/** @internal */
export const response = (text: string, value?: unknown): Response =>
  value === undefined ? { _tag: "Response", text } : { _tag: "Response", text, value }

/** @internal */
export const tooLarge: TooLarge = { _tag: "TooLarge" }

/** @internal */
export const skipped = (text: string, reason: string): Skipped => ({ _tag: "Skipped", text, reason })

/** @internal */
export const continuation = (text: string): Continuation => ({ _tag: "Continuation", text })

/**
 * Turns an instance's output bytes into frames. `push` is called with every chunk in order
 * and returns the frames that chunk completed (most often none or one).
 *
 * `flush` exists on framings that end a response on silence (`quiet`, and `prompt` with a
 * settle time): the pool calls it once the output has been silent for the framing's period,
 * and queues the frame it returns, if any. Decoders hold no timers themselves.
 * @internal
 */
export interface Decoder {
  readonly push: (chunk: Uint8Array) => ReadonlyArray<Frame>
  readonly flush?: () => Frame | undefined
}

/** @internal */
export const noFrames: ReadonlyArray<Frame> = []

/** Removes one trailing line break, the one that separates a response from what ends it. @internal */
export const trimFinalNewline = (text: string): string =>
  text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text

/** @internal */
export const stripCarriageReturn = (line: string): string => line.endsWith("\r") ? line.slice(0, -1) : line

/** Whether the frame ends a turn, as opposed to news for the log or for the notification stream. @internal */
export const endsTurn = (frame: Frame): frame is Response | TooLarge | Continuation | RpcResponse =>
  frame._tag === "Response" || frame._tag === "TooLarge" || frame._tag === "Continuation" ||
  frame._tag === "RpcResponse"

/** Gathers the frames a decoder's callbacks emit during one `push`. @internal */
export interface FrameCollector {
  readonly emit: (frame: Frame) => void
  /** The frames emitted since the last call, and a fresh start. */
  readonly take: () => ReadonlyArray<Frame>
}

/** @internal */
export const makeCollector = (): FrameCollector => {
  let frames: Array<Frame> = []
  return {
    emit: (frame) => {
      frames.push(frame)
    },
    take: () => {
      if (frames.length === 0) return noFrames
      const out = frames
      frames = []
      return out
    }
  }
}
