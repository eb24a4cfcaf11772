/**
 * Pool options for `test/fixtures/notes-tool.mjs`, a tool that keeps notes per session key: its
 * answers show which process served a key and what state it held.
 */
import { fileURLToPath } from "node:url"
import { Framing } from "../../src/index.js"
import type { PoolOptions } from "../../src/index.js"

export const notesToolPath = fileURLToPath(new URL("../fixtures/notes-tool.mjs", import.meta.url))

export const notesTool = (overrides: Partial<PoolOptions.Input> = {}): PoolOptions.Input => ({
  command: process.execPath,
  args: [notesToolPath],
  framing: Framing.lines(),
  turnTimeout: "10 seconds",
  grace: "500 millis",
  killAfter: "1 second",
  ...overrides
})

/** `pid=123 alice=a,b` -> { pid: 123, notes: ["a", "b"] } */
export const parseNotes = (output: string): { readonly pid: number; readonly notes: ReadonlyArray<string> } => {
  const match = /^pid=(\d+) [^=]*=(.*)$/.exec(output)
  if (match === null) throw new Error(`not an answer of the notes tool: ${JSON.stringify(output)}`)
  return { pid: Number(match[1]), notes: match[2] === "" ? [] : (match[2] ?? "").split(",") }
}
