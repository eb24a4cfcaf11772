/**
 * Writes the JSON Schemas of what the pool reports (`status`, `health`, `events`) to `schema/`,
 * for consumers outside TypeScript: dashboards, log pipelines, other languages.
 *
 *   npm run schema
 *
 * The schemas describe the JSON form of the values (`Schema.encodeSync(InstanceStatus.InstanceStatus)`
 * and friends): dates are ISO strings. `test/package.test.ts` regenerates them and compares with
 * the committed files, so they cannot go stale.
 */
import { JSONSchema } from "effect"
import type { Schema } from "effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { InstanceStatus, PoolEvent } from "../src/index.js"

/** The schema/ directory of the repository. */
export const directory = fileURLToPath(new URL("../schema/", import.meta.url))

const entry = (file: string, title: string, description: string, schema: Schema.Schema.Any) => {
  const json = JSONSchema.make(schema)
  return { file, text: JSON.stringify({ $schema: json.$schema, title, description, ...json }, null, 2) + "\n" }
}

/** Every generated file: its name in `schema/` and its content. */
export const generate = (): ReadonlyArray<{ readonly file: string; readonly text: string }> => [
  entry(
    "instance-status.schema.json",
    "InstanceStatus",
    "One instance of a toolpool pool, as ToolPool.status reports it (InstanceStatus.InstanceStatus, encoded).",
    InstanceStatus.InstanceStatus
  ),
  entry(
    "health.schema.json",
    "Health",
    "Instances of a toolpool pool counted by state, as ToolPool.health reports them (InstanceStatus.Health).",
    InstanceStatus.Health
  ),
  entry(
    "pool-event.schema.json",
    "PoolEvent",
    "A lifecycle event of a toolpool instance, as ToolPool.events streams it (PoolEvent.PoolEvent, encoded).",
    PoolEvent.PoolEvent
  )
]

if (import.meta.url === `file://${process.argv[1]}`) {
  mkdirSync(directory, { recursive: true })
  for (const { file, text } of generate()) {
    writeFileSync(`${directory}${file}`, text)
    process.stdout.write(`wrote schema/${file}\n`)
  }
}
