/**
 * The package as users get it: `npm pack` of a fresh build, installed into a throwaway project
 * with the README's install line (the tarball in place of `toolpool`), beside the project's own
 * `effect` and the other peers; then run, type-checked, and started with `npx toolpool`.
 *
 * The build goes to a staging copy, so the repository's `dist/` is left alone. The install
 * fetches the peers from the registry, `--prefer-offline`: from npm's cache when `npm ci` has
 * just filled it, as in CI.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { directory, generate } from "../scripts/schema.js"
import { PoolEvent, ToolPoolError } from "../src/index.js"

const root = fileURLToPath(new URL("..", import.meta.url))

const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly version: string
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly devDependencies: Record<string, string>
}

interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command to completion. Asynchronous, so the vitest worker keeps answering while a slow
 * npm install runs: vitest's calls to its workers time out after 60 s, and a run of this test
 * with spawnSync that took 80 s ended with "1 error" beside its passed tests.
 */
const exec = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

/** Runs a command to completion; fails the test with its output unless it exits 0. */
const run = async (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Ran> => {
  const result = await exec(command, args, cwd)
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited with ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`
    )
  }
  return result
}

/** The packages of an `npm install toolpool ...` line in a document, `toolpool` first. */
const installLine = (path: string): ReadonlyArray<string> => {
  const line = readFileSync(join(root, path), "utf8").match(/^npm install (toolpool .*)$/m)?.[1]
  if (line === undefined) throw new Error(`${path} has no 'npm install toolpool ...' line`)
  return line.split(/\s+/)
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
  for (const path of ["toolpool/internal/pool", "toolpool/bin"]) {
    const hidden = yield* Effect.promise(() => import(path).then(() => "importable", (e) => e.code))
    yield* Console.log(\`\${path}: \${hidden}\`)
  }
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

  it("npm pack gives a package that installs beside the user's effect (one copy), runs, type-checks", async () => {
    const work = mkdtempSync(join(tmpdir(), "toolpool-pack-"))
    try {
      // Build into a staging copy of the package, and pack that.
      const stage = join(work, "stage")
      await run("npm", ["run", "build", "--", "--outDir", join(stage, "dist")], root)
      for (
        const entry of ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "fixtures", "schema", "src", "test"]
      ) {
        cpSync(join(root, entry), join(stage, entry), { recursive: true })
      }
      const packed = JSON.parse(
        (await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], stage)).stdout
      ) as [
        { filename: string; files: ReadonlyArray<{ path: string }> }
      ]
      const files = packed[0].files.map((f) => f.path)
      expect(files).toEqual(expect.arrayContaining([
        "package.json",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "schema/pool-event.schema.json",
        "fixtures/mock-tool.mjs",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/ToolPool.d.ts",
        "dist/ToolPoolTest.js",
        "dist/bin.js"
      ]))
      expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([])

      // A project of its own, which has @types/node and installs with the README's line: the
      // tarball in place of toolpool, and the peers from the registry.
      const app = join(work, "app")
      mkdirSync(app)
      writeFileSync(
        join(app, "package.json"),
        JSON.stringify({
          name: "app",
          private: true,
          type: "module",
          devDependencies: { "@types/node": manifest.devDependencies["@types/node"] }
        })
      )
      const [, ...peers] = installLine("README.md")
      await run("npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(work, packed[0].filename),
        ...peers
      ], app)
      const installed = JSON.parse(readFileSync(join(app, "package.json"), "utf8")) as {
        dependencies: Record<string, string>
      }
      // the optional peers (toolpool/Cluster's) are not installed: the package runs without them
      const required = Object.keys(manifest.peerDependencies)
        .filter((name) => manifest.peerDependenciesMeta?.[name]?.optional !== true)
      expect(Object.keys(installed.dependencies).sort()).toEqual([...required, "toolpool"].sort())

      // One effect in the tree: toolpool and the @effect packages use the project's own. npm ls
      // also exits non-zero on a missing or unmet peer.
      const copies = (await run("npm", ["ls", "effect", "--all", "--parseable"], app)).stdout.trim().split("\n")
      expect(copies).toEqual([join(app, "node_modules", "effect")])
      const tree = (await run("npm", ["ls", "effect", "--all"], app)).stdout
      expect(tree).toMatch(/toolpool@.*\n(.*\n)*.*effect@3\.\d+\.\d+ deduped/)

      // It runs: a pool of the bundled mock tool, and internal/ and the executable out of reach.
      writeFileSync(join(app, "main.mjs"), program)
      const ran = await run(process.execPath, ["main.mjs"], app)
      expect(ran.stdout.trim().split("\n")).toEqual([
        JSON.stringify({ instance: 0, output: "hello from the package" }),
        "toolpool/internal/pool: ERR_PACKAGE_PATH_NOT_EXPORTED",
        "toolpool/bin: ERR_PACKAGE_PATH_NOT_EXPORTED"
      ])

      // The executable, from the project's node_modules/.bin (--no: never fetch one from the registry;
      // --: or npx takes --version and --help as its own).
      expect((await run("npx", ["--no", "--", "toolpool", "--version"], app)).stdout.trim()).toBe(manifest.version)

      // @effect/cli styles its help with ANSI escapes even into a pipe
      const help = (await run("npx", ["--no", "--", "toolpool", "--help"], app)).stdout.replace(/\x1b\[[0-9;]*m/g, "")
      expect(help).toContain(`\ntoolpool ${manifest.version}\n`)
      expect(help).toMatch(/^ {2}- run /m)
      expect(help).toMatch(/^ {2}- demo /m)
      const demo = await run("npx", ["--no", "--", "toolpool", "demo"], app)
      expect(demo.stdout.trim().split("\n")).toHaveLength(12)
      expect(demo.stderr).toMatch(/12 prompts in .*: 11 ok, 1 failed/)

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
      const checked = await exec(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."], app)
      const errors = checked.stdout.split("\n").filter((line) => /error TS\d+/.test(line))
      expect(errors).toEqual([
        expect.stringMatching(/^hidden\.ts\(2,27\): error TS2307: Cannot find module 'toolpool\/internal\/pool'/)
      ])
    } finally {
      rmSync(work, { recursive: true, force: true })
    }
  }, 300_000)
})

describe("docs", () => {
  const read = (path: string) => readFileSync(join(root, path), "utf8")

  it("the install lines of README.md and getting-started.md name every peer with its range", () => {
    // optional peers are toolpool/Cluster's, whose install line is in docs/cluster.md
    const peers = Object.entries(manifest.peerDependencies)
      .filter(([name]) => manifest.peerDependenciesMeta?.[name]?.optional !== true)
      .map(([name, range]) => `${name}@${range}`)
    for (const path of ["README.md", "docs/getting-started.md"]) {
      expect([...installLine(path)].sort()).toEqual(["toolpool", ...peers].sort())
    }
  })

  it("cluster.md's install line names every optional peer with its range", () => {
    const optional = Object.entries(manifest.peerDependencies)
      .filter(([name]) => manifest.peerDependenciesMeta?.[name]?.optional === true)
    expect(optional.length).toBeGreaterThanOrEqual(5)
    const doc = read("docs/cluster.md").replace(/\s+/g, " ")
    expect(optional.filter(([name, range]) => !doc.includes(`${name}@${range}`))).toEqual([])
  })

  it("errors.md has a section for every error of ToolPoolError", () => {
    const tags = Object.values(ToolPoolError).filter((value) => typeof value === "function").map((error) => error.name)
    expect(tags.length).toBeGreaterThanOrEqual(12)
    const doc = read("docs/errors.md")
    expect(tags.filter((tag) => !doc.includes(`## \`${tag}\``))).toEqual([])
  })

  it("observability.md names every metric, span and event", () => {
    const doc = read("docs/observability.md")
    const metrics = [...read("src/internal/pool/metrics.ts").matchAll(/"(toolpool_[a-z_]+)"/g)].map((m) => m[1] ?? "")
    const spans = ["pool/pool", "pool/supervisor", "turn/turns"].flatMap((file) =>
      [...read(`src/internal/${file}.ts`).matchAll(/withSpan\("([^"]+)"/g)].map((m) => m[1] ?? "")
    )
    const events = Object.keys(PoolEvent).filter((name) => name !== "PoolEvent")
    expect(new Set(metrics).size).toBe(7)
    expect(new Set(spans).size).toBe(4)
    expect(events).toHaveLength(7)
    expect([...metrics, ...spans, ...events].filter((name) => !doc.includes(`| \`${name}\` |`))).toEqual([])
  })
})
