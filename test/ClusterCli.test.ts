/**
 * `toolpool runner` and `toolpool run --cluster` as a user runs them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cluster from "../src/Cluster.js"
import { runCli } from "./utils/cli.js"
import { parseNotes } from "./utils/notesTool.js"
import { running } from "./utils/processes.js"
import { freePort, startRunner } from "./utils/runners.js"

describe("toolpool runner and run --cluster", () => {
  it("storage is sqlite:FILE, postgres:URL or a postgres URL", () => {
    expect(Cluster.parseStorage("sqlite:/tmp/x.db")).toEqual(Either.right({ _tag: "Sqlite", filename: "/tmp/x.db" }))
    const pg = Cluster.parseStorage("postgres://u:secret@db:5432/app")
    expect(Either.isRight(pg) && pg.right._tag).toBe("Postgres")
    // the URL holds a password: it stays out of logs
    expect(Either.isRight(pg) && String(pg.right)).not.toContain("secret")
    expect(Either.isRight(Cluster.parseStorage("postgres:postgresql://db/app"))).toBe(true)
    expect(Either.isLeft(Cluster.parseStorage("sqlite:"))).toBe(true)
    expect(Either.isLeft(Cluster.parseStorage("mysql://db"))).toBe(true)
  })

  it("bad flags are usage errors (exit code 2), named", async () => {
    const badStorage = await runCli(["runner", "--storage", "db.sqlite", "--listen", "127.0.0.1:7001", "--", "cat"])
    expect(badStorage.code).toBe(2)
    expect(badStorage.stderr).toContain("--storage: storage must be sqlite:FILE or postgres:URL")
    const badListen = await runCli(["runner", "--storage", "sqlite:x.db", "--listen", "127.0.0.1:99999", "--", "cat"])
    expect(badListen.code).toBe(2)
    expect(badListen.stderr).toContain("--listen must be HOST:PORT")
    const everywhere = await runCli(["runner", "--storage", "sqlite:x.db", "--listen", "0.0.0.0:7001", "--", "cat"])
    expect(everywhere.code).toBe(2)
    expect(everywhere.stderr).toContain("--advertise")
    const withCommand = await runCli(["run", "--cluster", "sqlite:x.db", "--", "bc", "-q"], { stdin: "1\n" })
    expect(withCommand.code).toBe(2)
    expect(withCommand.stderr).toContain("with --cluster the runners run the tool")
  })

  it(
    "run --cluster writes the JSONL of a local run, instance as runner/instance; SIGINT stops the runner and its tools",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "toolpool-cluster-cli-"))
      const storage = `sqlite:${join(dir, "cluster.db")}`
      const runner = await startRunner({ storage, port: await freePort(), instances: 2, lockExpiration: "5s" })
      try {
        const tools = runner.tools()
        expect(tools).toHaveLength(2)
        const prompts = ["a", "b", "c"].map((note, i) => JSON.stringify({ id: i, input: `k ${note}`, key: "k" }))
        // one at a time (-n 1): the notes show the three turns, in order, on one instance
        const run = await runCli(["run", "--cluster", storage, "-n", "1"], { stdin: prompts.join("\n") + "\n" })
        expect(run.code).toBe(0)
        expect(run.results.map((r) => r.ok)).toEqual([true, true, true])
        expect(run.results.map((r) => parseNotes(String(r.output)).notes)).toEqual([["a"], ["a", "b"], ["a", "b", "c"]])
        const instances = new Set(run.results.map((r) => r.instance))
        expect(instances.size).toBe(1)
        expect([...instances][0]).toMatch(new RegExp(`^${runner.name.replace(/\./g, "\\.")}/[01]$`))
        expect(run.stderr).toContain("3 prompts")

        runner.process.kill("SIGINT")
        expect((await runner.exited).code).toBe(130)
        expect(tools.filter(running)).toEqual([])
      } finally {
        if (runner.process.exitCode === null) runner.process.kill("SIGKILL")
        rmSync(dir, { recursive: true, force: true })
      }
    },
    120_000
  )
})
