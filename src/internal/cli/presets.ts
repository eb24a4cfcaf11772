/**
 * The presets `toolpool run --preset NAME` offers: those of `Presets` whose turns are a prompt
 * line in and a response out. The JSON-RPC ones (MCP, LSP, Codex app-server, ACP) are driven by
 * method calls, not prompt lines, and are left to programs.
 * @internal
 */
import type { Input } from "../../PoolOptions.js"
import * as Presets from "../../Presets.js"

/** A preset as the command line uses it. @internal */
export interface CliPreset {
  readonly options: (overrides: Presets.Overrides) => Input
  /** The line to send for a prompt, when the tool wants more than the text. */
  readonly input?: (prompt: string) => string
  /** The part of a response to report. */
  readonly output?: (response: string) => string
}

/** @internal */
export const presets: Readonly<Record<string, CliPreset>> = {
  python: { options: Presets.python },
  node: { options: Presets.node },
  bc: { options: Presets.bc },
  sqlite3: { options: Presets.sqlite3 },
  aider: { options: Presets.aider },
  "claude-code": {
    options: Presets.claudeCode,
    input: Presets.claudeCodeMessage,
    // the answer; the turn's raw stream-json lines when it has no result message
    output: (response) => {
      const result = Presets.claudeCodeResult(response)?.result
      return typeof result === "string" ? result : response
    }
  }
}

/** @internal */
export const presetNames: ReadonlyArray<string> = Object.keys(presets)
