/**
 * `toolpool demo`: a run over the bundled mock tool, an aider look-alike, with prompts of its
 * own. Needs nothing but Node.
 * @internal
 */
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import type { Input } from "../../PoolOptions.js"
import type { Batch, Outcome } from "./batch.js"
import { localPool } from "./batch.js"
import type { Prompt } from "./input.js"

/**
 * The mock tool, found from this module: `src/internal/cli/` under tsx and `dist/internal/cli/`
 * once built are both three levels below the package root, where `fixtures/` is.
 * @internal
 */
export const mockToolPath = fileURLToPath(new URL("../../../fixtures/mock-tool.mjs", import.meta.url))

/** What an aider session looks like, and one prompt that crashes its instance on purpose. @internal */
export const prompts: ReadonlyArray<string> = [
  "/add core/state.py",
  "/add error/engine.py",
  "/add aim/process_pool.py",
  "/crash 3",
  "What does state.py do?",
  "/multi 3",
  "/sleep 300",
  "/echo héllo wörld 🎉",
  "/sleep 150",
  "Summarise the chat so far",
  "/multi 2",
  "/echo done"
]

/** The prompt that crashes its instance, and the error it is expected to fail with. @internal */
export const expectedFailure = { prompt: "/crash 3", tag: "InstanceExited" } as const

/** @internal */
export const pool: Input = {
  command: process.execPath,
  args: [mockToolPath],
  instances: 4,
  framing: { _tag: "Prompt", pattern: "> $" },
  turnTimeout: "5 seconds",
  grace: "500 millis",
  killAfter: "1 second"
}

/** @internal */
export const batch: Batch = {
  target: localPool(pool, 0),
  prompts: Stream.fromIterable(
    prompts.map((input, i): Prompt => ({ _tag: "Prompt", id: i + 1, input, key: undefined }))
  ),
  countFile: Option.none(),
  total: prompts.length,
  transform: {}
}

/** The demo went as it should: every prompt answered but the crash, which failed typed. @internal */
export const asExpected = (outcome: Outcome): boolean =>
  !outcome.stopped &&
  outcome.tally.ok === prompts.length - 1 &&
  outcome.tally.failed === 1 &&
  outcome.tally.byTag.get(expectedFailure.tag) === 1

/** Printed on stderr before the results. @internal */
export const intro = `toolpool demo: ${prompts.length} prompts over ${pool.instances} instances of ` +
  `fixtures/mock-tool.mjs (an aider look-alike); "${expectedFailure.prompt}" kills its instance on purpose, ` +
  `which fails typed and is restarted.\n`
