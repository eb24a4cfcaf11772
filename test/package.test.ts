import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { directory, generate } from "../scripts/schema.js"

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
})
