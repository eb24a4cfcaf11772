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
export const makeCodec = (framing: Framing, maxBytes: number): Codec => {
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
      const echo: EchoState = { lastInput: undefined }
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
