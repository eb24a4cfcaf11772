/**
 * A framing made concrete for one instance: its decoder, its encoder, and what the pool must do
 * around them (start-up input, a banner to wait for, a silence timer, stderr merging).
 * @internal
 */
import type * as Duration from "effect/Duration"
import type { Framing } from "../../Framing.js"
import type { Input } from "../process/stdin.js"
import { encodeContentLength, makeContentLengthDecoder } from "./contentLength.js"
import type { Decoder } from "./frame.js"
import type { JsonRpcEncoder } from "./jsonRpc.js"
import { makeJsonRpcDecoder, makeJsonRpcEncoder } from "./jsonRpc.js"
import { makeLinesDecoder } from "./lines.js"
import { encodeNdjson, makeNdjsonDecoder } from "./ndjson.js"
import type { EchoState } from "./prompt.js"
import { makePromptDecoder } from "./prompt.js"
import { makeQuietDecoder } from "./quiet.js"
import { encodeSentinel, makeSentinelDecoder, sentinelCommand } from "./sentinel.js"

/**
 * Everything one instance needs to talk through a framing. Make one per process (per
 * incarnation): decoders hold the partial output of that process, and the prompt encoder tells
 * its decoder the last input, to strip its echo.
 * @internal
 */
export interface Codec {
  /** Fed with every output chunk, in order: stdout, or stdout and stderr when `mergeStderr`. */
  readonly decoder: Decoder
  /** What to write for one request. */
  readonly encode: (input: string) => Input
  /** Written once right after spawning, before anything else (a prompt change, a first marker). */
  readonly startup: ReadonlyArray<Input>
  /** The first frame is not a response but tells the instance is ready: wait for it, then drop it. */
  readonly waitsForBanner: boolean
  /**
   * When set, the pool calls `decoder.flush()` after this long without output and queues the
   * frame it returns (quiet periods, prompt settle time). Restart the timer on every chunk.
   */
  readonly flushAfter: Duration.Duration | undefined
  /** The tool prints its prompt on stderr: feed stderr chunks to the decoder as well. */
  readonly mergeStderr: boolean
  /** JSON-RPC framing only: requests with ids, notifications, answers to the tool's requests. */
  readonly rpc: JsonRpcEncoder | undefined
}

/** The input as one line: text, which stdin writes as UTF-8 without a Buffer of its own. */
const asLine = (input: string): string => input.endsWith("\n") ? input : input + "\n"

const base = {
  startup: [] as ReadonlyArray<Input>,
  waitsForBanner: false,
  flushAfter: undefined,
  mergeStderr: false,
  rpc: undefined
} as const

/** @internal */
/**
 * The codec of `framing`. On a terminal (`terminal`: the pty transport), the output's CR LF line
 * ends become LF before any framing sees them, and a prompt framing always removes the echo of
 * the input, which a terminal always writes back.
 * @internal
 */
export const makeCodec = (framing: Framing, maxBytes: number, terminal = false): Codec =>
  terminal
    ? onTerminal(makeCodecOf(framing._tag === "Prompt" ? { ...framing, stripEcho: true } : framing, maxBytes, true))
    : makeCodecOf(framing, maxBytes, false)

/** The decoder behind a terminal's line discipline: CR LF as LF, even split across chunks. */
const onTerminal = (codec: Codec): Codec => {
  const decoder = codec.decoder
  // A CR at the end of a chunk: dropped if the next chunk starts with LF, else kept.
  let heldCr = false
  const push = (chunk: Uint8Array) => {
    if (!heldCr && !chunk.includes(CR)) return decoder.push(chunk)
    const bytes: Array<number> = heldCr && chunk[0] !== LF ? [CR] : []
    heldCr = false
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number
      if (byte === CR && i === chunk.length - 1) heldCr = true
      else if (!(byte === CR && chunk[i + 1] === LF)) bytes.push(byte)
    }
    return decoder.push(Uint8Array.from(bytes))
  }
  return { ...codec, decoder: { ...decoder, push } }
}

const CR = 0x0d
const LF = 0x0a

const makeCodecOf = (framing: Framing, maxBytes: number, terminal: boolean): Codec => {
  switch (framing._tag) {
    case "Lines":
      return { ...base, decoder: makeLinesDecoder(maxBytes), encode: asLine }
    case "Ndjson":
      return { ...base, decoder: makeNdjsonDecoder(framing, maxBytes), encode: encodeNdjson }
    case "Sentinel":
      return {
        ...base,
        decoder: makeSentinelDecoder(framing, maxBytes),
        encode: (input) => encodeSentinel(framing, input),
        // The marker alone, so that the first frame shows the tool is up (and holds any banner).
        startup: [asLine(sentinelCommand(framing))],
        waitsForBanner: true
      }
    case "Prompt": {
      const echo: EchoState = { lastInput: undefined, terminal }
      return {
        ...base,
        decoder: makePromptDecoder(framing, maxBytes, echo),
        encode: (input) => {
          echo.lastInput = input.endsWith("\n") ? input.slice(0, -1) : input
          return asLine(input)
        },
        startup: framing.promptChange === undefined ? [] : [asLine(framing.promptChange)],
        waitsForBanner: true,
        flushAfter: framing.settle,
        mergeStderr: framing.stderr
      }
    }
    case "Quiet":
      return { ...base, decoder: makeQuietDecoder(maxBytes), encode: asLine, flushAfter: framing.duration }
    case "ContentLength":
      return { ...base, decoder: makeContentLengthDecoder(maxBytes), encode: encodeContentLength }
    case "JsonRpc": {
      const rpc = makeJsonRpcEncoder(framing)
      return { ...base, decoder: makeJsonRpcDecoder(framing, maxBytes), encode: rpc.raw, rpc }
    }
  }
}

/**
 * The decoder alone.
 * @deprecated use `makeCodec`: a prompt decoder made here never strips an echo.
 * @internal
 */
export const makeDecoder = (framing: Framing, maxBytes: number): Decoder => makeCodec(framing, maxBytes).decoder

/**
 * Whether the first frame is a banner the instance prints before it is ready.
 * @deprecated use `makeCodec(...).waitsForBanner`
 * @internal
 */
export const waitsForBanner = (framing: Framing): boolean => framing._tag === "Prompt"

/**
 * A request, encoded without a codec's state.
 * @deprecated use `makeCodec(...).encode`: JSON-RPC ids and prompt echoes need the codec.
 * @internal
 */
export const encode = (framing: Framing, input: string): Input =>
  framing._tag === "Sentinel"
    ? encodeSentinel(framing, input)
    : framing._tag === "Ndjson" || (framing._tag === "JsonRpc" && framing.over === "ndjson")
    ? encodeNdjson(input)
    : framing._tag === "ContentLength" || framing._tag === "JsonRpc"
    ? encodeContentLength(input)
    : asLine(input)
