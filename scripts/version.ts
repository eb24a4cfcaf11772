/**
 * Writes the version of `package.json` into `src/internal/version.ts` (what `toolpool --version`
 * prints and the presets' handshakes send). Run after `changeset version` bumps `package.json`:
 *
 *   npm run changeset-version
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
const file = fileURLToPath(new URL("../src/internal/version.ts", import.meta.url))
const source = readFileSync(file, "utf8")
const updated = source.replace(
  /^export const version = ".*"$/m,
  `export const version = ${JSON.stringify(manifest.version)}`
)
if (!updated.includes(`"${manifest.version}"`)) throw new Error(`no 'export const version = "..."' line in ${file}`)
writeFileSync(file, updated)
process.stdout.write(`src/internal/version.ts: ${manifest.version}\n`)
