/**
 * The package as users get it: `npm pack` of a fresh build, unpacked into a throwaway project
 * that imports it by name, runs it, and type-checks against it.
 *
 * Offline and without touching the repository's `dist/`: the build goes to a temporary
 * directory, and the project's dependencies are links to this repository's `node_modules`
 * (only those `package.json` declares, so an undeclared import would fail here).
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { directory, generate } from "../scripts/schema.js"
import { PoolEvent, ToolPoolError } from "../src/index.js"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs a command to completion; fails the test with its output unless it exits 0. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) => {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 150_000 })
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.status ?? result.signal}:\n` +
        `${result.stdout}\n${result.stderr}`
    )
  }
  return result
}

const program = `
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { fileURLToPath } from "node:url"
import { Framing, ToolPool } from "toolpool"

const mockTool = fileURLToPath(import.meta.resolve("toolpool/fixtures/mock-tool.mjs"))

const program = Effect.gen(function*() {
  const pool = yield* ToolPool.make({
    command: process.execPath,
    args: [mockTool],
    instances: 2,
    framing: Framing.prompt(/> $/)
  })
  const reply = yield* pool.submit("/echo hello from the package")
  yield* Console.log(JSON.stringify(reply))
  const hidden = yield* Effect.promise(() => import("toolpool/internal/pool").then(() => "importable", (e) => e.code))
  yield* Console.log(hidden)
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
`

const typed = `
import { Effect } from "effect"
import { Framing, ToolPool, ToolPoolError, ToolPoolTest } from "toolpool"
import * as Direct from "toolpool/ToolPool"

export const ask: Effect.Effect<string, ToolPool.TurnError, ToolPool.ToolPool> = Effect.flatMap(
  ToolPool.ToolPool,
  (pool) => pool.request(0, "hello")
)
export const sameTag: typeof ToolPool.ToolPool = Direct.ToolPool
export const layer = ToolPoolTest.layer({ instances: 2, respond: (input) => input })
export const lines = Framing.lines()
export const error = new ToolPoolError.PoolClosed()
// @ts-expect-error the types are real: a tag is not a number
export const notAny: number = ToolPool.ToolPool
`

const hidden = `
import * as internal from "toolpool/internal/pool"
export const make = internal.make
`

describe("package", () => {
  it("the committed JSON Schemas in schema/ are what npm run schema generates", () => {
    const files = generate()
    expect(files.map((f) => f.file)).toEqual([
      "instance-status.schema.json",
      "health.schema.json",
      "pool-event.schema.json"
    ])
    for (const { file, text } of files) expect(readFileSync(`${directory}${file}`, "utf8")).toBe(text)
  })

  it("npm pack gives a package that installs, runs, type-checks, and hides internal/", () => {
    const work = mkdtempSync(join(tmpdir(), "toolpool-pack-"))
    try {
      // Build into a staging copy of the package, and pack that.
      const stage = join(work, "stage")
      run("npm", ["run", "build", "--", "--outDir", join(stage, "dist")], root)
      for (const entry of ["package.json", "README.md", "fixtures", "src", "test"]) {
        cpSync(join(root, entry), join(stage, entry), { recursive: true })
      }
      const packed = JSON.parse(
        run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], stage).stdout
      ) as [
        { filename: string; files: ReadonlyArray<{ path: string }> }
      ]
      const files = packed[0].files.map((f) => f.path)
      expect(files).toEqual(expect.arrayContaining([
        "package.json",
        "README.md",
        "fixtures/mock-tool.mjs",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/ToolPool.d.ts",
        "dist/ToolPoolTest.js",
        "dist/bin.js"
      ]))
      expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([])

      // A project of its own: the tarball unpacked, the declared dependencies linked.
      const app = join(work, "app")
      const modules = join(app, "node_modules")
      mkdirSync(join(modules, "toolpool"), { recursive: true })
      run("tar", ["-xzf", join(work, packed[0].filename), "-C", join(modules, "toolpool"), "--strip-components=1"], app)
      const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
        peerDependencies: Record<string, string>
      }
      for (const name of [...Object.keys(manifest.peerDependencies), "@types/node"]) {
        mkdirSync(dirname(join(modules, name)), { recursive: true })
        symlinkSync(join(root, "node_modules", name), join(modules, name), "dir")
      }
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))

      // It runs: a pool of the bundled mock tool, and internal/ out of reach.
      writeFileSync(join(app, "main.mjs"), program)
      const ran = run(process.execPath, ["main.mjs"], app)
      expect(ran.stdout.trim().split("\n")).toEqual([
        JSON.stringify({ instance: 0, output: "hello from the package" }),
        "ERR_PACKAGE_PATH_NOT_EXPORTED"
      ])

      // It type-checks: the public modules have types; internal/ does not resolve.
      writeFileSync(join(app, "typed.ts"), typed)
      writeFileSync(join(app, "hidden.ts"), hidden)
      writeFileSync(
        join(app, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module: "NodeNext",
            moduleResolution: "NodeNext",
            target: "ES2022",
            strict: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: true,
            types: ["node"]
          },
          files: ["typed.ts", "hidden.ts"]
        })
      )
      const checked = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], {
        cwd: app,
        encoding: "utf8",
        timeout: 60_000
      })
      const errors = checked.stdout.split("\n").filter((line) => /error TS\d+/.test(line))
      expect(errors).toEqual([
        expect.stringMatching(/^hidden\.ts\(2,27\): error TS2307: Cannot find module 'toolpool\/internal\/pool'/)
      ])
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }, 180_000)
})

describe("docs", () => {
  const read = (path: string) => readFileSync(join(root, path), "utf8")

  it("errors.md has a section for every error of ToolPoolError", () => {
    const tags = Object.values(ToolPoolError).filter((value) => typeof value === "function").map((error) => error.name)
    expect(tags.length).toBeGreaterThanOrEqual(12)
    const doc = read("docs/errors.md")
    expect(tags.filter((tag) => !doc.includes(`## \`${tag}\``))).toEqual([])
  })

  it("observability.md names every metric, span and event", () => {
    const doc = read("docs/observability.md")
    const metrics = [...read("src/internal/metrics.ts").matchAll(/"(toolpool_[a-z_]+)"/g)].map((m) => m[1] ?? "")
    const spans = ["pool", "supervisor", "turn"].flatMap((file) =>
      [...read(`src/internal/${file}.ts`).matchAll(/withSpan\("([^"]+)"/g)].map((m) => m[1] ?? "")
    )
    const events = Object.keys(PoolEvent).filter((name) => name !== "PoolEvent")
    expect(new Set(metrics).size).toBe(5)
    expect(new Set(spans).size).toBe(4)
    expect(events).toHaveLength(6)
    expect([...metrics, ...spans, ...events].filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([])
  })
})
