import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Presets, ToolPool } from "../../src/index.js"
import { lacks } from "../utils/installed.js"

const provide = Effect.provide(NodeContext.layer)
const sqlite3 = (options: Presets.Sqlite3Options = {}) =>
  Presets.sqlite3({ turnTimeout: "10 seconds", grace: "200 millis", killAfter: "1 second", ...options })

describe.skipIf(lacks("sqlite3"))("Presets.sqlite3, on sqlite3", () => {
  it.scopedLive("each instance keeps its own in-memory tables between turns", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(sqlite3({ instances: 3 }))
      yield* Effect.forEach(
        [0, 1, 2],
        (id) => pool.request(id, `create table t(n integer);\ninsert into t values (${id}), (${id * 10});`),
        { concurrency: "unbounded" }
      )
      const sums = yield* Effect.forEach([0, 1, 2], (id) => pool.request(id, "select sum(n), count(*) from t;"), {
        concurrency: "unbounded"
      })
      expect(sums).toEqual(["0|2", "11|2", "22|2"])
    }).pipe(provide))

  it.scopedLive("a statement without its semicolon still ends the turn; rows come one per line", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(sqlite3())
      expect(yield* pool.request(0, "select 1 union all select 2")).toBe("1\n2")
      expect(yield* pool.request(0, ".mode csv\nselect 'a,b', 3;")).toBe("\"a,b\",3")
    }).pipe(provide))

  it.scopedLive("an error goes to stderr and leaves the instance in step", () =>
    Effect.gen(function*() {
      const pool = yield* ToolPool.make(sqlite3())
      expect(yield* pool.request(0, "select nope;")).toBe("")
      expect(yield* pool.request(0, "select 6 * 7;")).toBe("42")
      const [status] = yield* pool.status
      expect(status?.stderrTail).toContain("no such column: nope")
    }).pipe(provide))

  it.scopedLive("instances share a database file", () =>
    Effect.gen(function*() {
      const database = join(mkdtempSync(join(tmpdir(), "toolpool-sqlite-")), "shared.db")
      const pool = yield* ToolPool.make(sqlite3({ instances: 2, database }))
      yield* pool.request(0, "create table notes(body text);\ninsert into notes values ('from 0');")
      expect(yield* pool.request(1, "select body from notes;")).toBe("from 0")
    }).pipe(provide))
})
