import type { JsonRpc } from "../../Framing.js"
import { encodeContentLength, makeContentLengthReader } from "./contentLength.js"
import type { Decoder, Frame, RpcErrorObject, RpcId } from "./frame.js"
import { makeCollector, skipped, tooLarge } from "./frame.js"
import { makeLineSplitter } from "./lineSplitter.js"
import { encodeNdjson } from "./ndjson.js"

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isId = (u: unknown): u is RpcId => typeof u === "string" || (typeof u === "number" && Number.isFinite(u))

const isErrorObject = (u: unknown): u is RpcErrorObject =>
  isObject(u) && typeof u.code === "number" && typeof u.message === "string"

/** What one JSON-RPC message (not a batch) is. */
const classifyMessage = (message: unknown, text: string): Frame => {
  if (!isObject(message)) return skipped(text, "not a JSON-RPC message: not an object")
  const { id, method } = message
  if ("method" in message) {
    if (typeof method !== "string") return skipped(text, "not a JSON-RPC message: the method is not a string")
    if (!("id" in message)) return { _tag: "RpcNotification", method, params: message.params, text }
    if (!isId(id)) return skipped(text, "a JSON-RPC request whose id is neither a string nor a number")
    return { _tag: "RpcRequest", id, method, params: message.params, text }
  }
  if (!(id === null || isId(id))) return skipped(text, "not a JSON-RPC message: no method and no valid id")
  if ("error" in message && message.error !== undefined) {
    if (!isErrorObject(message.error)) return skipped(text, "a JSON-RPC error response with a malformed error")
    return { _tag: "RpcResponse", id, result: undefined, error: message.error, text }
  }
  if (!("result" in message)) return skipped(text, "a JSON-RPC response with neither result nor error")
  if (id === null) return skipped(text, "a JSON-RPC result with a null id")
  return { _tag: "RpcResponse", id, result: message.result, error: undefined, text }
}

/**
 * The frames one JSON-RPC text holds: one for a message, one per member for a batch, and
 * `Skipped` for what is not JSON-RPC. Messages are told apart by their members: `method` and
 * `id` make a request from the tool, `method` alone a notification, `id` with `result` or
 * `error` a response. The `jsonrpc: "2.0"` member is not required.
 * @internal
 */
export const classify = (text: string): ReadonlyArray<Frame> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return [skipped(text, `not JSON: ${error instanceof Error ? error.message : String(error)}`)]
  }
  if (!Array.isArray(json)) return [classifyMessage(json, text)]
  if (json.length === 0) return [skipped(text, "an empty JSON-RPC batch")]
  return json.map((member: unknown) => classifyMessage(member, JSON.stringify(member)))
}

/** How much of a message over the cap is kept to look for its id: JSON-RPC puts it near the start. */
const HEAD = 512

const STRING = /^"(?:[^"\\]|\\.)*"/
// an id in full: a string, or a number that something follows (else it may be cut short)
const ID_VALUE = /^\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?=\s*[,}]))/

/**
 * What the start of a message too large to read says about it: its `id`, when the top-level
 * member is there in full, and whether a top-level `method` makes it the tool's own request or
 * notification. Members of nested values (an "id" inside a result) do not count.
 * @internal
 */
export const peekMessage = (head: string): { readonly id: RpcId | undefined; readonly method: boolean } => {
  let id: RpcId | undefined
  let method = false
  let depth = 0
  if (head.trimStart()[0] !== "{") return { id, method }
  for (let i = 0; i < head.length; i++) {
    const char = head[i]
    if (char === "{" || char === "[") depth++
    else if (char === "}" || char === "]") depth--
    else if (char === "\"") {
      const string = STRING.exec(head.slice(i))?.[0]
      if (string === undefined) break // cut off inside a string
      i += string.length - 1
      if (depth !== 1) continue
      if (string === "\"method\"" && /^\s*:/.test(head.slice(i + 1))) method = true
      if (string !== "\"id\"") continue
      const value = ID_VALUE.exec(head.slice(i + 1))?.[1]
      if (value === undefined) continue
      try {
        const parsed: unknown = JSON.parse(value)
        if (isId(parsed)) id = parsed
      } catch {
        // a string with a bad escape: no id
      }
    }
  }
  return { id, method }
}

/**
 * The frame for a message over the cap, from its start: `TooLarge` with the id it names, if it
 * names one, for the pool to fail that call; `Skipped` for the tool's own request or
 * notification, which answers no call.
 */
const oversized = (head: string): Frame => {
  const { id, method } = peekMessage(head)
  if (method) return skipped(head, "a JSON-RPC request or notification over maxResponseBytes")
  return id === undefined ? tooLarge : { _tag: "TooLarge", id }
}

/**
 * Decodes JSON-RPC messages, one per line or `Content-Length` framed. A message over the cap is
 * `TooLarge` (with its id when its first bytes give it), and decoding goes on with the next one.
 * Of such a message, only its first `HEAD` bytes (or characters) are kept.
 * @internal
 */
export const makeJsonRpcDecoder = (framing: JsonRpc, maxBytes: number): Decoder => {
  const frames = makeCollector()
  const onMessage = (text: string) => {
    for (const frame of classify(text)) frames.emit(frame)
  }
  const read = framing.over === "ndjson"
    ? makeLineSplitter({
      maxBytes,
      dropCarriageReturn: true,
      onLine: (line) => {
        if (line.trim() !== "") onMessage(line)
      },
      onOverflow: (head) => frames.emit(oversized(head)),
      keepHead: HEAD
    })
    : makeContentLengthReader(maxBytes, {
      onMessage,
      onTooLarge: (head) => frames.emit(oversized(head)),
      onSkipped: (text, reason) => frames.emit(skipped(text, reason))
    }, HEAD)
  return {
    push(chunk) {
      read(chunk)
      return frames.take()
    }
  }
}

/**
 * Writes JSON-RPC messages in the framing's transport. Request ids are numbers counted up from 1,
 * per encoder (that is, per instance). Params and results must be JSON-serialisable:
 * `JSON.stringify` throws on a cycle or a bigint.
 * @internal
 */
export interface JsonRpcEncoder {
  readonly request: (method: string, params?: unknown) => { readonly id: number; readonly bytes: Uint8Array }
  readonly notify: (method: string, params?: unknown) => Uint8Array
  readonly respond: (id: RpcId, result: unknown) => Uint8Array
  readonly respondError: (id: RpcId | null, error: RpcErrorObject) => Uint8Array
  /** One message given as JSON text, framed as it is. */
  readonly raw: (text: string) => Uint8Array
}

/** @internal */
export const makeJsonRpcEncoder = (framing: JsonRpc): JsonRpcEncoder => {
  const frame = framing.over === "ndjson"
    ? encodeNdjson
    : encodeContentLength
  const write = (message: Record<string, unknown>) => frame(JSON.stringify({ jsonrpc: "2.0", ...message }))
  const withParams = (params: unknown) => params === undefined ? {} : { params }
  let nextId = 1
  return {
    request: (method, params) => {
      const id = nextId++
      return { id, bytes: write({ id, method, ...withParams(params) }) }
    },
    notify: (method, params) => write({ method, ...withParams(params) }),
    respond: (id, result) => write({ id, result: result === undefined ? null : result }),
    respondError: (id, error) => write({ id, error }),
    raw: frame
  }
}
