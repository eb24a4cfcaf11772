import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Presets, ToolPool } from "../../src/index.js"

const provide = Effect.provide(NodeContext.layer)
const server = fileURLToPath(new URL("../../node_modules/typescript-language-server/lib/cli.mjs", import.meta.url))
const tsserver = fileURLToPath(new URL("../../node_modules/typescript/lib/tsserver.js", import.meta.url))

const source = [
  "export interface Point { readonly x: number; readonly y: number }",
  "export const origin: Point = { x: 0, y: 0 }",
  "export const norm = (p: Point): number => Math.hypot(p.x, p.y)",
  "norm(origin)",
  "origin."
].join("\n")

const workspace = () => {
  const root = mkdtempSync(join(tmpdir(), "toolpool-lsp-"))
  const file = join(root, "point.ts")
  writeFileSync(file, source)
  writeFileSync(
    join(root, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, lib: ["es2022"], types: [] } })
  )
  return { root, uri: pathToFileURL(file).href }
}

const didOpen = (uri: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    method: "textDocument/didOpen",
    params: { textDocument: { uri, languageId: "typescript", version: 1, text: source } }
  })

describe("Presets.lsp, on typescript-language-server", () => {
  it.scopedLive("initialized, it answers hover and completion on a file opened by notification", () =>
    Effect.gen(function*() {
      const { root, uri } = workspace()
      const pool = yield* ToolPool.make(Presets.lsp({
        command: process.execPath,
        args: [server, "--stdio"],
        root,
        cwd: root,
        instances: 2,
        initializationOptions: { tsserver: { path: tsserver } },
        startTimeout: "20 seconds",
        // tsserver loads the project on the first request: slow on a busy machine
        turnTimeout: "40 seconds",
        grace: "200 millis",
        killAfter: "1 second"
      }))
      yield* Effect.forEach([0, 1], (id) => pool.send(id, didOpen(uri)), { discard: true })

      // hover over `norm` in line 3 (0-based), on each instance
      const hovers = yield* Effect.forEach(
        [0, 1],
        (id) => pool.call(id, "textDocument/hover", { textDocument: { uri }, position: { line: 3, character: 1 } }),
        { concurrency: "unbounded" }
      )
      for (const hover of hovers) {
        expect(JSON.stringify(hover)).toContain("const norm: (p: Point) => number")
      }

      // completion after `origin.` in line 4
      const completion = yield* pool.call(0, "textDocument/completion", {
        textDocument: { uri },
        position: { line: 4, character: 7 }
      })
      const items = Array.isArray(completion)
        ? completion
        : (completion as { items: ReadonlyArray<{ label: string }> }).items
      expect(items.map((item: { label: string }) => item.label)).toEqual(expect.arrayContaining(["x", "y"]))
    }).pipe(provide))
})
