/**
 * Presets for interpreters and calculators: python, node, bc, sqlite3.
 * @internal
 */
import * as Framing from "../../Framing.js"
import type { Input } from "../../PoolOptions.js"
import type { Overrides, Sqlite3Options } from "../../Presets.js"
import { merge, token } from "./merge.js"
import { nodeDriver } from "./nodeDriver.js"
import { pythonDriver } from "./pythonDriver.js"

/** @internal */
export const python = (overrides?: Overrides): Input => {
  const ready = token("ready")
  const more = token("more")
  return merge({
    command: "python3",
    args: ["-u", "-c", pythonDriver, ready, more],
    framing: Framing.prompt(ready, { continuation: more })
  }, overrides)
}

/** @internal */
export const node = (overrides?: Overrides): Input => {
  const ready = token("ready")
  const more = token("more")
  return merge({
    command: "node",
    args: ["-e", nodeDriver, ready, more],
    framing: Framing.prompt(ready, { continuation: more })
  }, overrides)
}

/** @internal */
export const bc = (overrides?: Overrides): Input =>
  merge({
    command: "bc",
    args: ["-q"],
    // GNU bc breaks numbers longer than 70 digits over several lines with a backslash; 0 turns that off
    env: { BC_LINE_LENGTH: "0" },
    framing: Framing.sentinel({ command: (marker) => `print "${marker}\\n"` })
  }, overrides)

/** @internal */
export const sqlite3 = (options: Sqlite3Options = {}): Input => {
  const { database, ...overrides } = options
  return merge({
    command: "sqlite3",
    args: database === undefined ? ["-batch"] : ["-batch", database],
    // The ";" line ends a statement the request left without one (an empty statement is no
    // error), so that the marker command is read as a command and not as more SQL.
    framing: Framing.sentinel({ command: ";\n.print {marker}" })
  }, overrides)
}
