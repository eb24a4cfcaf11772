import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { fileURLToPath } from "node:url"
import { PoolOptions, Presets, ToolPool } from "../src/index.js"

const provide = Effect.provide(NodeContext.layer)
const replay = fileURLToPath(new URL("./fixtures/replay.mjs", import.meta.url))
const transcript = (name: string) => fileURLToPath(new URL(`./fixtures/transcripts/${name}`, import.meta.url))

/** Runs the replay fixture on a transcript in place of the real tool, with the preset's framing. */
const onTranscript = (name: string): Presets.Overrides => ({
  command: process.execPath,
  args: [replay, transcript(name)],
  turnTimeout: "5 seconds",
  startTimeout: "10 seconds",
  // the replay exits when its input ends; a loaded machine may take a moment to get there
  grace: "5 seconds",
  killAfter: "1 second"
})

/** Shuts the pool down and checks that the replay saw every input it expected, and no more. */
const replayedToTheEnd = (pool: ToolPool.ToolPool) =>
  Effect.gen(function*() {
    yield* pool.shutdown
    const [status] = yield* pool.status
    expect(status?.stderrTail).toBe("")
    expect(status?.lastExit?.code).toBe(0)
  })

describe("Presets", () => {
  describe("options", () => {
    it.effect("every preset decodes as pool options", () =>
      Effect.gen(function*() {
        const presets = [
          Presets.python(),
          Presets.node(),
          Presets.bc(),
          Presets.sqlite3({ database: "app.db" }),
          Presets.mcp({ command: "mcp-server" }),
          Presets.lsp({ command: "language-server", args: ["--stdio"] }),
          Presets.aider(),
          Presets.claudeCode(),
          Presets.codexAppServer(),
          Presets.acp()
        ]
        const decoded = yield* Effect.forEach(presets, PoolOptions.decode)
        expect(decoded.map((options) => [options.command, options.framing._tag])).toEqual([
          ["python3", "Prompt"],
          ["node", "Prompt"],
          ["bc", "Sentinel"],
          ["sqlite3", "Sentinel"],
          ["mcp-server", "JsonRpc"],
          ["language-server", "JsonRpc"],
          ["aider", "Prompt"],
          ["claude", "Ndjson"],
          ["codex", "JsonRpc"],
          ["gemini", "JsonRpc"]
        ])
      }))

    it("options given replace the preset's, and env is added to the preset's", () => {
      const options = Presets.bc({ instances: 3, args: ["-q", "-l"], env: { LC_ALL: "C" } })
      expect(options.instances).toBe(3)
      expect(options.args).toEqual(["-q", "-l"])
      expect(options.env).toEqual({ BC_LINE_LENGTH: "0", LC_ALL: "C" })
      expect(options.framing?._tag).toBe("Sentinel")
    })

    it("preset-only options do not leak into the pool options", () => {
      const keys = [
        Presets.sqlite3({ database: "x.db" }),
        Presets.mcp({ command: "s", protocolVersion: "2025-03-26", capabilities: { roots: {} } }),
        Presets.lsp({ command: "s", root: "/tmp", initializationOptions: {} }),
        Presets.codexAppServer({ clientInfo: { name: "me", version: "1" } }),
        Presets.acp({ clientCapabilities: {} })
      ].flatMap((options) => Object.keys(options))
      for (
        const key of [
          "database",
          "protocolVersion",
          "capabilities",
          "clientCapabilities",
          "root",
          "initializationOptions",
          "clientInfo"
        ]
      ) {
        expect(keys).not.toContain(key)
      }
    })

    it("python and node get a prompt of their own for each pool", () => {
      const [a, b] = [Presets.python().framing, Presets.python().framing]
      expect(a?._tag === "Prompt" && b?._tag === "Prompt" && a.pattern !== b.pattern).toBe(true)
      const node = Presets.node().framing
      expect(node?._tag === "Prompt" && node.continuation !== undefined && node.pattern !== node.continuation).toBe(
        true
      )
    })

    it("the MCP and LSP handshakes carry what the protocols require", () => {
      const mcp = Presets.mcp({ command: "s", clientInfo: { name: "app", version: "2.0.0" } }).framing
      expect(mcp).toMatchObject({
        _tag: "JsonRpc",
        over: "ndjson",
        handshake: {
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "app", version: "2.0.0" } },
          notification: "notifications/initialized"
        }
      })
      const lsp = Presets.lsp({ command: "s", root: "/work/my project" }).framing
      expect(lsp).toMatchObject({
        _tag: "JsonRpc",
        over: "contentLength",
        handshake: {
          method: "initialize",
          params: { processId: process.pid, rootUri: "file:///work/my%20project", capabilities: {} },
          notification: "initialized",
          notificationParams: {}
        }
      })
    })

    it("the LSP default handler answers like a client without settings", () => {
      const framing = Presets.lsp({ command: "s", root: "/w" }).framing
      const handler = framing?._tag === "JsonRpc" ? framing.onRequest : undefined
      expect(handler?.({ method: "workspace/configuration", params: { items: [{}, {}] } })).toEqual([null, null])
      expect(handler?.({ method: "workspace/workspaceFolders", params: null })).toEqual([
        { uri: "file:///w", name: "w" }
      ])
      expect(() => handler?.({ method: "custom/thing", params: null })).toThrow(/does not support custom\/thing/)
    })

    it("Claude Code messages and results", () => {
      expect(JSON.parse(Presets.claudeCodeMessage("hi"))).toEqual({
        type: "user",
        message: { role: "user", content: [{ type: "text", text: "hi" }] }
      })
      const output = ["{\"type\":\"assistant\"}", "{\"type\":\"result\",\"result\":\"done\"}"].join("\n")
      expect(Presets.claudeCodeResult(output)).toEqual({ type: "result", result: "done" })
      expect(Presets.claudeCodeResult("{\"type\":\"assistant\"}")).toBeUndefined()
      expect(Presets.claudeCode({ args: [...Presets.claudeCodeArgs, "--model", "sonnet"] }).args).toEqual([
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        "sonnet"
      ])
    })
  })

  describe("on transcripts written from the tools' documented protocols", () => {
    it.scopedLive("aider: turns end at its prompt (and at a mode prompt), not at a quote that looks like it", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(Presets.aider(onTranscript("aider.jsonl")))
        expect(yield* pool.request(0, "/add core/state.py")).toBe("Added core/state.py to the chat\n\ncore/state.py")
        const answer = yield* pool.request(0, "/ask what does State.load do?")
        expect(answer).toMatch(/^State\.load reads the JSON file/)
        expect(answer).toContain("\n\n> Note: it caches the parsed file")
        expect(answer).toMatch(/Tokens: 2\.1k sent, 143 received\. .*\n\ncore\/state\.py$/)
        expect(yield* pool.request(0, "/chat-mode ask")).toContain("with ask edit format")
        expect(yield* pool.request(0, "/drop core/state.py")).toBe("Removed core/state.py from the chat")
        yield* replayedToTheEnd(pool)
      }).pipe(provide))

    it.scopedLive("Claude Code: a turn is every message up to the result, across tool use", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(Presets.claudeCode(onTranscript("claude-code.jsonl")))
        const first = yield* pool.request(0, Presets.claudeCodeMessage("What is 2 + 2? Answer with the number only."))
        expect(first.split("\n").map((line) => JSON.parse(line).type)).toEqual(["system", "assistant", "result"])
        expect(Presets.claudeCodeResult(first)?.result).toBe("4")
        const second = yield* pool.request(0, Presets.claudeCodeMessage("How many lines does package.json have?"))
        expect(second.split("\n").map((line) => JSON.parse(line).type)).toEqual([
          "assistant",
          "user",
          "assistant",
          "result"
        ])
        expect(Presets.claudeCodeResult(second)).toMatchObject({ result: "package.json has 58 lines.", num_turns: 2 })
        yield* replayedToTheEnd(pool)
      }).pipe(provide))

    it.scopedLive("Codex app-server: a turn runs from turn/start to turn/completed; approvals are declined", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(Presets.codexAppServer(onTranscript("codex-app-server.jsonl")))
        const started = yield* pool.call(0, "thread/start", { cwd: "/work/project" })
        const threadId = (started as { thread: { id: string } }).thread.id
        expect(threadId).toBe("thr_9d1f")

        const turn = yield* Presets.codexTurn(pool, 0, { threadId, input: "Run the tests and tell me what fails" })
        expect(turn.turnId).toBe("turn_1")
        expect(turn.turn).toMatchObject({ id: "turn_1", status: "completed" })
        expect(turn.text).toBe("I could not run the tests: running `npm test` was declined.")
        const methods = turn.notifications.map((n) => n.method)
        expect(methods[0]).toBe("turn/started")
        expect(methods.at(-1)).toBe("turn/completed")
        expect(methods).toContain("item/agentMessage/delta")
        const command = turn.notifications.find((n) =>
          n.method === "item/completed" && (n.params as { item: { type: string } }).item.type === "commandExecution"
        )
        expect(command?.params).toMatchObject({ item: { status: "declined" } })

        // A turn that outlives its deadline is interrupted in the tool, in order with later calls.
        const late = yield* Effect.flip(
          Presets.codexTurn(pool, 0, { threadId, input: "Refactor everything" }, { timeout: "300 millis" })
        )
        expect(late._tag).toBe("TurnTimeout")
        expect(yield* pool.call(0, "thread/loaded/list")).toEqual({ data: ["thr_9d1f"] })
        yield* replayedToTheEnd(pool)
      }).pipe(provide))

    it.scopedLive("ACP: updates come with the prompt's answer; permission is rejected; a late prompt is cancelled", () =>
      Effect.gen(function*() {
        const pool = yield* ToolPool.make(Presets.acp(onTranscript("acp-gemini.jsonl")))
        const session = yield* pool.call(0, "session/new", { cwd: "/work/project", mcpServers: [] })
        const sessionId = (session as { sessionId: string }).sessionId

        const turn = yield* Presets.acpPrompt(pool, 0, { sessionId, prompt: "Delete the build directory" })
        expect(turn.stopReason).toBe("end_turn")
        expect(turn.text).toBe("I did not delete it: the command was rejected.")
        expect(turn.updates.map((u) => (u as { sessionUpdate: string }).sessionUpdate)).toEqual([
          "agent_thought_chunk",
          "tool_call",
          "tool_call_update",
          "agent_message_chunk",
          "agent_message_chunk"
        ])

        const late = yield* Effect.flip(
          Presets.acpPrompt(pool, 0, { sessionId, prompt: "Rewrite the project in Rust" }, { timeout: "300 millis" })
        )
        expect(late._tag).toBe("TurnTimeout")
        const next = yield* Presets.acpPrompt(pool, 0, { sessionId, prompt: "Say hi" })
        expect(next).toMatchObject({ stopReason: "end_turn", text: "Hi!" })
        yield* replayedToTheEnd(pool)
      }).pipe(provide))
  })
})
