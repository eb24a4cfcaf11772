/**
 * A plain Node readline echo tool, as many tools are: one reply line per input line (after a
 * random delay of up to `maxDelayMillis`), and no SIGINT handler, so an interrupt ends it.
 */
import type { PoolOptions } from "../../src/index.js"
import { Framing } from "../../src/index.js"

const script = (maxDelayMillis: number) =>
  `const rl = require("node:readline").createInterface({ input: process.stdin })
rl.on("line", (line) => setTimeout(() => process.stdout.write(line + "\\n"), Math.random() * ${maxDelayMillis}))`

export const readlineEcho = (
  maxDelayMillis: number,
  overrides: Partial<PoolOptions.Input> = {}
): PoolOptions.Input => ({
  command: process.execPath,
  args: ["-e", script(maxDelayMillis)],
  framing: Framing.lines(),
  ...overrides
})
