/**
 * Ready pool options for known tools. Each preset is a function that returns full options for
 * `ToolPool.make`; the options you pass replace the preset's own (`env` is merged), so that
 * `Presets.python({ instances: 4, turnTimeout: "5 seconds" })` keeps the preset's command and framing.
 *
 * How each was proven (a real process in the test suite, or a transcript of the documented
 * protocol) is listed in `docs/presets.md`.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as agents from "./internal/presets/agents.js"
import * as protocols from "./internal/presets/protocols.js"
import * as repls from "./internal/presets/repls.js"
import * as turns from "./internal/presets/turns.js"
import type { Input } from "./PoolOptions.js"
import type { Notification, ToolPool, TurnError, TurnOptions } from "./ToolPool.js"

/**
 * Pool options that replace a preset's own. `env` is the exception: its variables are added to
 * the preset's. Replacing `args` of `python` or `node` removes the loop that frames their turns;
 * pick another interpreter with `command` instead.
 *
 * @since 0.1.0
 * @category models
 */
export type Overrides = Partial<Input>

/**
 * Answers a request the tool sends to the client (JSON-RPC presets): return the result, or
 * throw to answer with an error.
 *
 * @since 0.1.0
 * @category models
 */
export type RequestHandler = (request: { readonly method: string; readonly params: unknown }) => unknown

/**
 * Python 3 as a REPL: `python3 -u -c <loop>`, where the loop is the standard library's
 * `code.InteractiveConsole` (the interactive interpreter's compiler and display rules) with turn
 * boundaries a pipe can carry:
 *
 * - a request may hold several lines, statements and blocks: it is one turn, and its response is
 *   everything they printed (results, `print` output, tracebacks, `sys.stderr`), in order;
 * - a block at the end of the request is closed for you (no empty line needed);
 * - an incomplete statement (an open bracket) fails the turn with `IncompleteInput`, and the
 *   instance is interrupted back to a clean state;
 * - SIGINT (the pool's interrupt after a timeout) stops running code with `KeyboardInterrupt`.
 *
 * Each instance keeps its variables between turns. POSIX only. Code that reads `sys.stdin`
 * (`input()`) is not supported: stdin carries the requests.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Presets, ToolPool } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ToolPool.make(Presets.python({ instances: 2 }))
 *   yield* pool.request(0, "def double(x):\n    return 2 * x")
 *   return yield* pool.request(0, "double(21)") // "42"
 * })
 *
 * Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
 * ```
 *
 * @since 0.1.0
 * @category presets
 */
export const python: (overrides?: Overrides) => Input = repls.python

/**
 * Node.js as a REPL: `node -e <loop>`, where the loop drives Node's own `repl` module (the
 * evaluation of `node -i`: top-level `await`, `_`, dot commands) one line at a time:
 *
 * - a request may hold several lines; it is one turn, answered when all of it has run (an
 *   `await` included);
 * - results are printed as `node -i` prints them, except `undefined` (a declaration answers "");
 *   `console.log` and `console.error` output is part of the response, in order;
 * - an incomplete statement (an open bracket) fails the turn with `IncompleteInput`;
 * - SIGINT stops running code, even a busy loop.
 *
 * @since 0.1.0
 * @category presets
 */
export const node: (overrides?: Overrides) => Input = repls.node

/**
 * GNU bc, framed by a sentinel: each request is followed by `print "<marker>\n"`, and the
 * response is what bc printed before the marker. Long numbers are printed on one line
 * (`BC_LINE_LENGTH=0`). bc prints errors on stderr: a request with an error answers with what
 * the rest of it printed, and the error is in the instance's stderr tail. Add `-l` to `args`
 * for the math library (`args: ["-q", "-l"]`).
 *
 * @since 0.1.0
 * @category presets
 */
export const bc: (overrides?: Overrides) => Input = repls.bc

/**
 * Options of {@link sqlite3}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sqlite3Options extends Overrides {
  /** The database file; every instance opens it. Without it, each instance has its own in-memory database. */
  readonly database?: string
}

/**
 * The sqlite3 shell (`sqlite3 -batch`), framed by a sentinel: each request is followed by a line
 * `;` (which ends a statement left without one) and `.print <marker>`. Rows come in the shell's
 * current output mode (`list` unless changed with `.mode`). Errors go to stderr, as with bc.
 *
 * @example
 * ```ts
 * import { Presets, ToolPool } from "toolpool"
 *
 * const pool = ToolPool.make(Presets.sqlite3({ instances: 2, database: "app.db" }))
 * ```
 *
 * @since 0.1.0
 * @category presets
 */
export const sqlite3: (options?: Sqlite3Options) => Input = repls.sqlite3

/**
 * Options of {@link mcp}.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpOptions extends Overrides {
  readonly command: string
  /** The MCP revision asked for in `initialize` (`"2025-06-18"` by default); the server answers with its own. */
  readonly protocolVersion?: string
  readonly clientInfo?: { readonly name: string; readonly version: string }
  /** The client capabilities of `initialize` (`sampling`, `elicitation`, `roots`); none by default. */
  readonly capabilities?: unknown
  /** Answers the server's requests (sampling, elicitation, roots); by default only `ping` is answered. */
  readonly onRequest?: RequestHandler
}

/**
 * Any MCP server over stdio: JSON-RPC over ndjson, ready once it has answered `initialize`
 * (protocol version, no client capabilities, client info) and been sent
 * `notifications/initialized`. Use `pool.call(id, "tools/list", {})`,
 * `pool.call(id, "tools/call", { name, arguments })`; server notifications are on
 * `pool.notifications`.
 *
 * @example
 * ```ts
 * import { Presets, ToolPool } from "toolpool"
 *
 * const pool = ToolPool.make(
 *   Presets.mcp({ command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"], instances: 2 })
 * )
 * ```
 *
 * @since 0.1.0
 * @category presets
 */
export const mcp: (options: McpOptions) => Input = protocols.mcp

/**
 * Options of {@link lsp}.
 *
 * @since 0.1.0
 * @category models
 */
export interface LspOptions extends Overrides {
  readonly command: string
  /** The workspace folder sent as `rootUri`; the pool's `cwd`, or the current directory, when absent. */
  readonly root?: string
  /** The client capabilities of `initialize`; none by default. */
  readonly capabilities?: unknown
  /** Server-specific settings sent with `initialize`. */
  readonly initializationOptions?: unknown
  /** Answers the server's requests; the default answers as a client without settings or UI would. */
  readonly onRequest?: RequestHandler
}

/**
 * Any language server: JSON-RPC with `Content-Length` framing, ready once it has answered
 * `initialize` (`processId` of this process, `rootUri`, capabilities) and been sent
 * `initialized`. Notifications to the server (`textDocument/didOpen`, ...) go with
 * `pool.send(id, JSON.stringify({ jsonrpc: "2.0", method, params }))`; requests with `pool.call`.
 * The default request handler answers `workspace/configuration` with nulls, accepts
 * registrations and progress tokens, and applies no edits.
 *
 * @since 0.1.0
 * @category presets
 */
export const lsp: (options: LspOptions) => Input = protocols.lsp

/**
 * aider in a pipe: `--no-pretty --no-fancy-input --no-stream --yes-always` and no update checks,
 * framed by its prompt (`> `, or `ask> `, `architect multi> `, ... at the start of a line) after
 * 100 ms without output. aider prints the files in the chat just before its prompt, so they end
 * each response. Start-up may take a while (repository map): `startTimeout` is 2 minutes,
 * `turnTimeout` 10 minutes.
 *
 * @since 0.1.0
 * @category presets
 */
export const aider: (overrides?: Overrides) => Input = agents.aider

/**
 * Claude Code in print mode with stream-json input and output
 * (`claude -p --input-format stream-json --output-format stream-json --verbose`): a turn is
 * every message up to the one of type `result`, and the response is their JSON lines. Write
 * requests with {@link claudeCodeMessage}; read the final answer with {@link claudeCodeResult}.
 * The session (its context) lives as long as the instance.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Presets, ToolPool } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ToolPool.make(
 *     Presets.claudeCode({ instances: 2, args: [...Presets.claudeCodeArgs, "--model", "sonnet"] })
 *   )
 *   const output = yield* pool.request(0, Presets.claudeCodeMessage("What does src/index.ts export?"))
 *   return Presets.claudeCodeResult(output)?.result
 * })
 * ```
 *
 * @since 0.1.0
 * @category presets
 */
export const claudeCode: (overrides?: Overrides) => Input = agents.claudeCode

/**
 * The arguments of {@link claudeCode}, to extend rather than replace (`--model`, `--allowedTools`, ...).
 *
 * @since 0.1.0
 * @category presets
 */
export const claudeCodeArgs: ReadonlyArray<string> = agents.claudeCodeArgs

/**
 * One user message of Claude Code's stream-json input, as the line to send.
 *
 * @since 0.1.0
 * @category helpers
 */
export const claudeCodeMessage: (text: string) => string = agents.claudeCodeMessage

/**
 * The message of type `result` that ended a Claude Code turn (`result`, `is_error`,
 * `session_id`, `total_cost_usd`, ...), found in the turn's response; undefined if there is none.
 *
 * @since 0.1.0
 * @category helpers
 */
export const claudeCodeResult: (output: string) => Readonly<Record<string, unknown>> | undefined =
  agents.claudeCodeResult

/**
 * Options of {@link codexAppServer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CodexOptions extends Overrides {
  readonly clientInfo?: { readonly name: string; readonly title?: string; readonly version: string }
  /** Answers approval and other requests of the server; the default declines every approval. */
  readonly onRequest?: RequestHandler
}

/**
 * `codex app-server`: JSON-RPC over ndjson, ready once it has answered `initialize` (client
 * info) and been sent `initialized`. A conversation is a thread (`pool.call(id, "thread/start",
 * {...})`), and a turn is not one call: `turn/start` answers at once, the work streams as
 * notifications, and the turn ends with the `turn/completed` notification. {@link codexTurn}
 * runs such a turn to its end. The default request handler declines command and file-change
 * approvals; pass `onRequest` (or `approvalPolicy: "never"` in `thread/start`) to allow them.
 *
 * @since 0.1.0
 * @category presets
 */
export const codexAppServer: (options?: CodexOptions) => Input = agents.codexAppServer

/**
 * Parameters of {@link codexTurn}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CodexTurnParams {
  readonly threadId: string
  /** Text, or the protocol's input items (`{ type: "text", text }`, `{ type: "localImage", path }`, ...). */
  readonly input: string | ReadonlyArray<unknown>
  /** Other `turn/start` parameters (`model`, `cwd`, `approvalPolicy`, ...). */
  readonly [key: string]: unknown
}

/**
 * A Codex turn, run to its end.
 *
 * @since 0.1.0
 * @category models
 */
export interface CodexTurn {
  readonly turnId: string
  /** The turn as `turn/completed` reported it (`status`: completed, interrupted, failed; `error`). */
  readonly turn: unknown
  /** The agent's messages in the turn (its completed `agentMessage` items), joined by blank lines. */
  readonly text: string
  /** The notifications of the turn's thread, in order, `turn/completed` last. */
  readonly notifications: ReadonlyArray<Notification>
}

/**
 * Runs one Codex turn: `turn/start` on the thread, then the thread's notifications up to the
 * `turn/completed` of that turn. The deadline (`timeout`, else the pool's `turnTimeout`) covers
 * the whole turn; a turn cut short (deadline, interruption) is stopped with `turn/interrupt`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Presets, ToolPool } from "toolpool"
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* ToolPool.make(Presets.codexAppServer())
 *   const { thread } = (yield* pool.call(0, "thread/start", { cwd: process.cwd() })) as { thread: { id: string } }
 *   const turn = yield* Presets.codexTurn(pool, 0, { threadId: thread.id, input: "Run the tests" })
 *   return turn.text
 * })
 * ```
 *
 * @since 0.1.0
 * @category helpers
 */
export const codexTurn: (
  pool: ToolPool,
  instance: number,
  params: CodexTurnParams,
  options?: TurnOptions
) => Effect.Effect<CodexTurn, TurnError> = turns.codexTurn

/**
 * Options of {@link acp}.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcpOptions extends Overrides {
  readonly clientInfo?: { readonly name: string; readonly title?: string; readonly version: string }
  /** The `clientCapabilities` of `initialize`; by default no file system and no terminal. */
  readonly clientCapabilities?: unknown
  /** Answers the agent's requests; the default rejects every permission request. */
  readonly onRequest?: RequestHandler
}

/**
 * An Agent Client Protocol agent, by default Gemini CLI (`gemini --experimental-acp`; pass
 * `command`/`args` for another agent): JSON-RPC over ndjson, ready once it has answered
 * `initialize` (protocol version 1, client capabilities, client info). Open a session with
 * `pool.call(id, "session/new", { cwd, mcpServers: [] })`; a turn is one `session/prompt` call,
 * answered with its `stopReason` when the turn ends, its progress streamed before that as
 * `session/update` notifications. {@link acpPrompt} collects both.
 *
 * @since 0.1.0
 * @category presets
 */
export const acp: (options?: AcpOptions) => Input = agents.acp

/**
 * Parameters of {@link acpPrompt}.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcpPromptParams {
  readonly sessionId: string
  /** Text, or the protocol's content blocks (`{ type: "text", text }`, `{ type: "resource_link", ... }`). */
  readonly prompt: string | ReadonlyArray<unknown>
}

/**
 * An ACP turn, run to its end.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcpTurn {
  /** Why the turn ended: `end_turn`, `max_tokens`, `refusal`, `cancelled`, ... */
  readonly stopReason: string
  /** The agent's reply: the text of its `agent_message_chunk` updates, joined. */
  readonly text: string
  /** The `update` of each `session/update` notification of the session during the turn, in order. */
  readonly updates: ReadonlyArray<unknown>
}

/**
 * Runs one ACP turn: `session/prompt`, with the session's `session/update` notifications that
 * came before its answer. The deadline (`timeout`, else the pool's `turnTimeout`) covers the
 * turn; a turn cut short is cancelled with the `session/cancel` notification.
 *
 * @since 0.1.0
 * @category helpers
 */
export const acpPrompt: (
  pool: ToolPool,
  instance: number,
  params: AcpPromptParams,
  options?: TurnOptions
) => Effect.Effect<AcpTurn, TurnError> = turns.acpPrompt
