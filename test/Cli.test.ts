/**
 * The `toolpool` executable, run as a real process over the bundled mock tool (and, where a test
 * needs a tool that misbehaves just once, a few lines of `node -e`).
 */
import { describe, expect, it } from "@effect/vitest"
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { processesWithEnv, runCli } from "./utils/cli.js"
import { lacks } from "./utils/installed.js"
import { mockToolPath } from "./utils/mockTool.js"
import { lacksNodePty } from "./utils/nodePty.js"

const noPty = await lacksNodePty()

const mockTool = ["--framing", "prompt", "--", process.execPath, mockToolPath]
const scratch = () => mkdtempSync(join(tmpdir(), "toolpool-cli-"))
const byId = (results: ReadonlyArray<Record<string, unknown>>) => new Map(results.map((r) => [r.id, r]))

describe.concurrent("toolpool run", () => {
  it("writes one JSON result per prompt of stdin: text ids are line numbers, a crash fails typed, exit 1", async () => {
    const stdin = "/echo one\n\n/crash 3\n/multi 2\n{\"id\":\"j\",\"input\":\"/echo from json\"}\n/echo héllo 🎉\n"
    const run = await runCli(["run", "--instances", "2", ...mockTool], { stdin })

    expect(run.code).toBe(1)
    const results = byId(run.results)
    expect([...results.keys()].sort()).toEqual([1, 3, 4, 6, "j"])
    expect(results.get(1)).toMatchObject({ ok: true, output: "one" })
    expect(results.get(4)).toMatchObject({ ok: true, output: "line 1\nline 2" })
    expect(results.get("j")).toMatchObject({ ok: true, output: "from json" })
    expect(results.get(6)).toMatchObject({ ok: true, output: "héllo 🎉" })
    expect(results.get(3)).toMatchObject({ ok: false, error: { _tag: "InstanceExited" } })
    expect(results.get(3)?.error).toHaveProperty("message", expect.stringContaining("exited with code 3"))
    for (const result of run.results) {
      expect([0, 1]).toContain(result.instance)
      expect(result.ms).toBeGreaterThanOrEqual(0)
    }

    expect(run.stderr).toMatch(/^5 prompts in .* \([\d.]+\/s\): 4 ok, 1 failed$/m)
    expect(run.stderr).toMatch(/^ {2}InstanceExited {2}1$/m)
    expect(run.stderr).toMatch(/^latency p50 [\d.]+ m?s, p99 [\d.]+ m?s; restarts \d+$/m)
    // a run shorter than the 2 s period prints no progress lines (a slow machine may make it longer)
    const [, amount = "0", unit] = /prompts in ([\d.]+) (ms|s) /.exec(run.stderr) ?? []
    if (Number(amount) * (unit === "s" ? 1000 : 1) < 1900) expect(run.stderr).not.toMatch(/ done, /)
  })

  it("reads JSONL from --input FILE, keeps the ids given, and fails a line that is not a prompt as BadInput", async () => {
    const file = join(scratch(), "prompts.jsonl")
    writeFileSync(
      file,
      [
        "{\"id\":\"a\",\"input\":\"/echo A\"}",
        "{\"id\":7,\"input\":\"/sleep 50\"}",
        "{\"input\":\"/echo no id\"}",
        "{\"id\":\"b\"}"
      ]
        .join("\n")
    )
    const run = await runCli(["run", "--input", file, "--format", "jsonl", ...mockTool])

    expect(run.code).toBe(1)
    const results = byId(run.results)
    expect(results.get("a")).toMatchObject({ ok: true, output: "A" })
    expect(results.get(7)).toMatchObject({ ok: true, output: "slept 50" })
    expect(results.get(3)).toMatchObject({ ok: true, output: "no id" })
    expect(results.get(4)).toMatchObject({ ok: false, instance: null, error: { _tag: "BadInput" } })
    expect(results.get(4)?.error).toHaveProperty("message", expect.stringContaining("line 4"))
    expect(run.stderr).toMatch(/4 prompts in .*: 3 ok, 1 failed/)
  })

  it("with --retries, sends a prompt again when its instance died under it", async () => {
    const crashed = join(scratch(), "crashed")
    // answers every line, except that it dies on the first "flaky" it ever sees
    const flakyTool = `const fs = require("fs")
      require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
        if (line === "flaky" && !fs.existsSync(process.env.CRASHED)) {
          fs.writeFileSync(process.env.CRASHED, "")
          process.exit(1)
        }
        console.log("ok " + line)
      })`
    const run = await runCli(
      ["run", "-n", "2", "--retries", "1", "--env", `CRASHED=${crashed}`, "--", process.execPath, "-e", flakyTool],
      { stdin: "a\nflaky\nb\n" }
    )

    expect(existsSync(crashed)).toBe(true)
    expect(run.code).toBe(0)
    expect(byId(run.results).get(2)).toMatchObject({ ok: true, output: "ok flaky" })
    expect(run.stderr).toMatch(/3 prompts in .*: 3 ok, 0 failed/)
  })

  it("with --max-memory, replaces a tool that grew past it between two prompts, and loses none", async () => {
    // one instance: it grows past 100 MiB, is replaced during the long prompt after, and the
    // prompt after that goes to the replacement
    const run = await runCli(["run", "-n", "1", "--max-memory", "100M", ...mockTool], {
      stdin: "/pid\n/alloc 150\n/sleep 2500\n/pid\n/echo done\n"
    })
    expect(run.code).toBe(0)
    const [before, grown, slept, after, done] = run.results
    expect(grown).toMatchObject({ ok: true, output: "holding 150 MiB" })
    expect(slept).toMatchObject({ ok: true })
    expect(done).toMatchObject({ ok: true, output: "done" })
    expect(after?.output).toMatch(/^\d+$/)
    expect(after?.output).not.toBe(before?.output)
    // the pool's own replacement, not a restart
    expect(run.stderr).toMatch(/5 prompts in .*: 5 ok, 0 failed.*restarts 0/s)
  })

  it("with --preset, runs a known tool with the preset's command and framing", async () => {
    // one instance keeps its variables from one prompt to the next
    const run = await runCli(["run", "-n", "1", "--preset", "node"], { stdin: "1 + 2\nconst x = 21\nx * 2\n" })

    expect(run.code).toBe(0)
    expect(run.results.map((r) => [r.id, r.output])).toEqual([[1, "3"], [2, ""], [3, "42"]])
  })

  it("exits 2 on bad usage, with a message, and spawns nothing", async () => {
    const spawned = join(scratch(), "spawned")
    const tool = ["--", "sh", "-c", `touch ${spawned}; cat`]
    const cases: ReadonlyArray<[ReadonlyArray<string>, RegExp]> = [
      [["run", "--instances", "0", ...tool], /invalid --instances: .*between 1 and 1024/],
      [["run", "--retries", "-1", ...tool], /--retries must be 0 or more/],
      [["run"], /missing COMMAND/],
      [["run", "--cols", "80", ...tool], /--cols applies to --pty only/],
      [["run", "--pty", "--rows", "1", ...tool], /--rows must be 2 to 1000/],
      [["run", "--stderr", "merge", ...tool], /--stderr merge applies to --framing prompt/],
      [["run", "--max-memory", "lots", ...tool], /--max-memory takes a size such as 512M or 2G, got lots/]
    ]
    const runs = await Promise.all(cases.map(([args]) => runCli(args, { stdin: "hello\n" })))

    runs.forEach((run, i) => {
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(cases[i]?.[1] ?? /never/)
      expect(run.stdout).toBe("")
    })
    expect(existsSync(spawned)).toBe(false)
  })

  it.skipIf(noPty || lacks("perl"))("with --pty, drives a tool that needs a terminal: the perl debugger", async () => {
    const run = await runCli(
      ["run", "-n", "1", "--pty", "--framing", "prompt", "--prompt", "DB<\\d+> ", "--", "perl", "-de0"],
      { stdin: "p 6*7\n$x = 3\np $x + 1\n" }
    )
    expect(run.code).toBe(0)
    expect(run.results.map((result) => result.output)).toEqual(["42", "", "4"])
  })

  it("with --stderr merge, reads a prompt the tool writes on stderr", async () => {
    const tool = ["--", "sh", "-c", "while printf 'ask> ' >&2 && read line; do echo \"got $line\"; done"]
    const merged = await runCli(["run", "--prompt", "ask> $", "--stderr", "merge", "--timeout", "5s", ...tool], {
      stdin: "a\nb\n"
    })
    expect(merged.code).toBe(0)
    expect(merged.results.map((result) => result.output)).toEqual(["got a", "got b"])
  })

  it("on SIGINT takes no more prompts, lets those in flight finish, stops the pool, prints the summary, exits 130", async () => {
    const marker = `TOOLPOOL_CLI_TEST=${randomUUID()}`
    // debug logs (on stderr) tell what happened to each instance, should one be left
    const run = await runCli(["--log-level", "debug", "run", "-n", "2", "--env", marker, ...mockTool], {
      stdin: "/sleep 400\n".repeat(40),
      keepStdinOpen: true,
      signal: { name: "SIGINT", when: ({ stdout }) => stdout.split("\n").length > 3 }
    })

    expect(run.code).toBe(130)
    expect(run.results.length).toBeGreaterThanOrEqual(3)
    expect(run.results.length).toBeLessThan(40)
    // the turns in flight when the signal came were answered, not cut off
    for (const result of run.results) expect(result).toMatchObject({ ok: true, output: "slept 400" })
    expect(run.stderr).toMatch(
      new RegExp(`^${run.results.length} prompts in .*: ${run.results.length} ok, 0 failed; stopped early$`, "m")
    )
    expect(processesWithEnv(marker), run.stderr).toEqual([])
  })

  it("prints a progress line every 2 s when stderr is not a terminal, and exits 143 on SIGTERM", async () => {
    const marker = `TOOLPOOL_CLI_TEST=${randomUUID()}`
    // debug logs (on stderr) tell what happened to each instance, should one be left
    const run = await runCli(["--log-level", "debug", "run", "-n", "2", "--env", marker, ...mockTool], {
      stdin: "/sleep 300\n".repeat(100),
      keepStdinOpen: true,
      signal: { name: "SIGTERM", when: ({ stderr }) => / done, /.test(stderr) }
    })

    expect(run.code).toBe(143)
    expect(run.stderr).toMatch(/^toolpool: \d+ done, [\d.]+\/s, 0 failed, 2\/2 instances up$/m)
    expect(run.stderr).toMatch(/stopped early/)
    expect(processesWithEnv(marker), run.stderr).toEqual([])
  })
})

describe("toolpool demo", () => {
  it("runs a dozen prompts over the bundled mock tool; its one crash is expected, so it exits 0", async () => {
    const run = await runCli(["demo"])

    expect(run.code).toBe(0)
    expect(run.results).toHaveLength(12)
    const failed = run.results.filter((r) => r.ok === false)
    expect(failed).toEqual([
      expect.objectContaining({ id: 4, error: expect.objectContaining({ _tag: "InstanceExited" }) })
    ])
    expect(run.stderr).toMatch(/^12 prompts in .*: 11 ok, 1 failed$/m)
    expect(run.stderr).toMatch(/restarts 1$/m)
  })

  it("is what npm run demo and npm start run", () => {
    const scripts = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).scripts
    expect(scripts.demo).toBe("tsx src/bin.ts demo")
    expect(scripts.start).toBe("tsx src/bin.ts demo")
  })
})
