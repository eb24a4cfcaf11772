/**
 * Pool options for the bundled mock tool (`fixtures/mock-tool.mjs`), which behaves like
 * aider: banner, prompt "> ", slash commands, and misbehaviour on command.
 */
import { fileURLToPath } from "node:url"
import { Framing } from "../../src/index.js"
import type { PoolOptions } from "../../src/index.js"

export const mockToolPath = fileURLToPath(new URL("../../fixtures/mock-tool.mjs", import.meta.url))

export const mockTool = (
  overrides: Partial<PoolOptions.Input> & { readonly flags?: ReadonlyArray<string> } = {}
): PoolOptions.Input => {
  const { flags = [], ...rest } = overrides
  return {
    command: process.execPath,
    args: [mockToolPath, ...flags],
    framing: Framing.prompt(/> $/),
    turnTimeout: "10 seconds",
    grace: "500 millis",
    killAfter: "1 second",
    ...rest
  }
}

/** The same tool in `--lines` mode: one reply line per input line, no banner, no prompt. */
export const mockLines = (overrides: Partial<PoolOptions.Input> = {}): PoolOptions.Input =>
  mockTool({ flags: ["--lines"], framing: Framing.lines(), ...overrides })
