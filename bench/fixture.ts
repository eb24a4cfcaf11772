/**
 * The tool both sides drive: the bundled mock tool, unchanged. In its default mode it prints
 * a banner and the prompt "> ", answers `ping 1` with `echo: ping 1` and prints the prompt
 * again; with `--lines` it answers every line with exactly one line and prints no prompt.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const original = fileURLToPath(new URL("../fixtures/mock-tool.mjs", import.meta.url))
const COPY = "TOOLPOOL_BENCH_TOOL"

/**
 * Runs the tool from an identical copy in a temporary directory, for this process and the
 * child processes it starts. The test suite treats any process running from `fixtures/` as
 * a leak (and kills it), so without the copy a benchmark and a test run at the same time
 * would disturb each other. Returns a function that removes the copy.
 */
export const useCopy = (): () => void => {
  const dir = mkdtempSync(join(tmpdir(), "toolpool-bench-"))
  const copy = join(dir, "mock-tool.mjs")
  copyFileSync(original, copy)
  process.env[COPY] = copy
  return () => rmSync(dir, { recursive: true, force: true })
}

/** Where the tool is run from: the copy made by {@link useCopy}, or `fixtures/` itself. */
export const toolPath = (): string => process.env[COPY] ?? original

export const command = process.execPath

/** Arguments of the tool in prompt mode (the default) or `--lines` mode, plus extra flags. */
export const toolArgs = (mode: "prompt" | "lines", ...flags: ReadonlyArray<string>): Array<string> => [
  toolPath(),
  ...(mode === "lines" ? ["--lines"] : []),
  ...flags
]

/** The prompt the tool prints; a response ends where it shows up at the end of the output. */
export const PROMPT = "> "

/** The input of turn `i`: a short line the tool echoes back as `echo: <line>`. */
export const payload = (i: number): string => `ping ${i}`

export const expectedReply = (i: number): string => `echo: ping ${i}`

/** Throws unless `answer` is the reply to turn `i`: nothing is measured that is not correct. */
export const checkReply = (side: string, i: number, answer: string): void => {
  if (answer !== expectedReply(i)) {
    throw new Error(`${side} answered ${JSON.stringify(answer)} to ${JSON.stringify(payload(i))}`)
  }
}

/** Feeds `data` events through `onData` and resolves the reply that ends with the prompt. */
export const prompter = () => {
  let buffer = ""
  let waiter: ((reply: string) => void) | undefined
  const onData = (text: string) => {
    buffer += text
    if (!buffer.endsWith(PROMPT)) return
    const reply = buffer
    buffer = ""
    const wake = waiter
    waiter = undefined
    wake?.(reply)
  }
  const next = (wake: (reply: string) => void): void => {
    waiter = wake
  }
  return { onData, next }
}

/** Grace and killAfter used on both sides when stopping tools. */
export const GRACE_MS = 500
export const KILL_AFTER_MS = 1000
