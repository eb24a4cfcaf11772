/**
 * Presets for JSON-RPC servers of the two common protocols: MCP (stdio) and LSP.
 * @internal
 */
import { pathToFileURL } from "node:url"
import * as Framing from "../../Framing.js"
import type { Input } from "../../PoolOptions.js"
import type { LspOptions, McpOptions, RequestHandler } from "../../Presets.js"
import { clientInfo, merge } from "./merge.js"

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** The latest MCP revision this preset was written against. @internal */
export const mcpProtocolVersion = "2025-06-18"

const mcpRequests: RequestHandler = ({ method }) => {
  if (method === "ping") return {}
  throw new Error(`the client does not support ${method}`)
}

/** @internal */
export const mcp = (options: McpOptions): Input => {
  const {
    capabilities = {},
    clientInfo: info = clientInfo,
    onRequest = mcpRequests,
    protocolVersion = mcpProtocolVersion,
    ...rest
  } = options
  return merge({
    command: options.command,
    framing: Framing.jsonRpc({
      over: "ndjson",
      handshake: {
        method: "initialize",
        params: { protocolVersion, capabilities, clientInfo: info },
        notification: "notifications/initialized"
      },
      onRequest
    })
  }, rest)
}

/**
 * What a client without settings or UI answers: no configuration, registrations and progress
 * tokens accepted, no edits applied, no message action chosen.
 */
const lspRequests = (folders: ReadonlyArray<unknown>): RequestHandler => ({ method, params }) => {
  switch (method) {
    case "workspace/configuration":
      return isObject(params) && Array.isArray(params.items) ? params.items.map(() => null) : []
    case "workspace/applyEdit":
      return { applied: false, failureReason: "the client applies no edits" }
    case "client/registerCapability":
    case "client/unregisterCapability":
    case "window/workDoneProgress/create":
    case "window/showMessageRequest":
      return null
    case "workspace/workspaceFolders":
      return folders
    default:
      throw new Error(`the client does not support ${method}`)
  }
}

/** @internal */
export const lsp = (options: LspOptions): Input => {
  const { capabilities = {}, initializationOptions, onRequest, root, ...rest } = options
  const folder = root ?? options.cwd ?? process.cwd()
  const rootUri = pathToFileURL(folder).href
  const workspaceFolders = [{ uri: rootUri, name: folder.split("/").filter(Boolean).pop() ?? folder }]
  return merge({
    command: options.command,
    framing: Framing.jsonRpc({
      over: "contentLength",
      handshake: {
        method: "initialize",
        params: {
          // the client's pid: servers exit when it is gone, so none outlives a killed parent
          processId: process.pid,
          clientInfo,
          rootUri,
          workspaceFolders,
          capabilities,
          ...(initializationOptions === undefined ? {} : { initializationOptions })
        },
        notification: "initialized",
        notificationParams: {}
      },
      onRequest: onRequest ?? lspRequests(workspaceFolders)
    })
  }, rest)
}
