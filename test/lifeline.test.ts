import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { lacksNodePty } from "./utils/nodePty.js"
import { processesTagged, running } from "./utils/processes.js"

const parentScript = fileURLToPath(new URL("./utils/lifelineParent.ts", import.meta.url))

/**
 * Starts a parent whose pool runs tools that ignore SIGTERM and stdin EOF, each with a
 * grandchild; SIGKILLs the parent once they run; returns the pids of the tools and their
 * children, and those of the case still running 5 seconds after the kill.
 */
const killParent = (transport: string) =>
  Effect.promise(async () => {
    const tag = `lifeline-${transport}-${process.pid}-${Date.now()}`
    const parent = spawn(process.execPath, ["--import", "tsx", parentScript, transport], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, TOOLPOOL_TEST_CASE: tag }
    })
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: parent.stdout }).once("line", resolve)
      parent.once("exit", (code) => reject(new Error(`the parent exited early (code ${code})`)))
    })
    const pids = JSON.parse(line) as Array<number>
    const before = pids.filter(running)
    parent.kill("SIGKILL")
    const deadline = Date.now() + 5000
    let left = processesTagged(tag).filter(running)
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      left = processesTagged(tag).filter(running)
    }
    return { pids, before, left }
  })

describe("lifeline", () => {
  for (const transport of ["pipes", "commandExecutor", "pty"]) {
    it.live(`a SIGKILLed parent leaves no tool and no grandchild behind (${transport})`, () =>
      Effect.gen(function*() {
        if (transport === "pty" && (yield* Effect.promise(lacksNodePty))) return
        const { before, left, pids } = yield* killParent(transport)
        // two tools and two grandchildren were running when the parent died
        expect(pids).toHaveLength(4)
        expect(before).toEqual(pids)
        expect(left).toEqual([])
      }), 30_000)
  }
})
