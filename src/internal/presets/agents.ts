/**
 * Presets for AI coding agents: aider (prompt), Claude Code (stream-json), Codex (app-server
 * JSON-RPC) and ACP agents such as Gemini CLI.
 * @internal
 */
import * as Framing from "../../Framing.js"
import type { Input } from "../../PoolOptions.js"
import type { AcpOptions, CodexOptions, Overrides, RequestHandler } from "../../Presets.js"
import { clientInfo, merge } from "./merge.js"

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * aider's prompt at the start of a line: `> `, or with the chat mode and multi-line mode in
 * front (`ask> `, `architect multi> `, `multi> `).
 * @internal
 */
export const aiderPrompt = /(?:^|\n)(?:[\w-]+(?: multi)?)?> $/

/** @internal */
export const aider = (overrides?: Overrides): Input =>
  merge({
    command: "aider",
    args: [
      // plain text, no colours; input() instead of prompt_toolkit, which needs a terminal
      "--no-pretty",
      "--no-fancy-input",
      // the answer is printed at once, not token by token: no prompt-like text in mid-turn
      "--no-stream",
      "--yes-always",
      "--no-check-update",
      "--no-show-release-notes",
      "--no-analytics"
    ],
    framing: Framing.prompt(aiderPrompt, { settle: "100 millis" }),
    startTimeout: "2 minutes",
    turnTimeout: "10 minutes"
  }, overrides)

/** @internal */
export const claudeCodeArgs: ReadonlyArray<string> = [
  "-p",
  "--input-format",
  "stream-json",
  "--output-format",
  "stream-json",
  "--verbose"
]

/** @internal */
export const claudeCode = (overrides?: Overrides): Input =>
  merge({
    command: "claude",
    args: claudeCodeArgs,
    framing: Framing.ndjson({ endsTurn: { type: "result" } }),
    turnTimeout: "10 minutes"
  }, overrides)

/** One user message of Claude Code's stream-json input, as one line. @internal */
export const claudeCodeMessage = (text: string): string =>
  JSON.stringify({ type: "user", message: { role: "user", content: [{ type: "text", text }] } })

/** The `result` message that ended a Claude Code turn, from the turn's output. @internal */
export const claudeCodeResult = (output: string): Readonly<Record<string, unknown>> | undefined => {
  for (const line of output.split("\n").reverse()) {
    try {
      const message: unknown = JSON.parse(line)
      if (isObject(message) && message.type === "result") return message
    } catch {
      // not a message: look further up
    }
  }
  return undefined
}

const codexRequests: RequestHandler = ({ method }) => {
  if (method.endsWith("/requestApproval")) return { decision: "decline" }
  throw new Error(`the client does not support ${method}`)
}

/** @internal */
export const codexAppServer = (options: CodexOptions = {}): Input => {
  const { clientInfo: info = { ...clientInfo, title: "toolpool" }, onRequest = codexRequests, ...rest } = options
  return merge({
    command: "codex",
    args: ["app-server"],
    framing: Framing.jsonRpc({
      over: "ndjson",
      handshake: { method: "initialize", params: { clientInfo: info }, notification: "initialized" },
      onRequest
    }),
    turnTimeout: "10 minutes"
  }, rest)
}

/** Picks the agent's own "reject once" option, or cancels when it offers none. */
const acpRequests: RequestHandler = ({ method, params }) => {
  if (method === "session/request_permission") {
    const options = isObject(params) && Array.isArray(params.options) ? params.options : []
    const reject = options.find((option: unknown) => isObject(option) && option.kind === "reject_once")
    return isObject(reject) && typeof reject.optionId === "string"
      ? { outcome: { outcome: "selected", optionId: reject.optionId } }
      : { outcome: { outcome: "cancelled" } }
  }
  throw new Error(`the client does not support ${method}`)
}

/** @internal */
export const acp = (options: AcpOptions = {}): Input => {
  const {
    clientCapabilities = { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
    clientInfo: info = clientInfo,
    onRequest = acpRequests,
    ...rest
  } = options
  return merge({
    command: "gemini",
    args: ["--experimental-acp"],
    framing: Framing.jsonRpc({
      over: "ndjson",
      handshake: { method: "initialize", params: { protocolVersion: 1, clientCapabilities, clientInfo: info } },
      onRequest
    }),
    turnTimeout: "10 minutes"
  }, rest)
}
