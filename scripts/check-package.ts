/**
 * Checks the shape of the package as it would be published: `npm pack` (whose `prepack` makes a
 * clean build), then on the tarball
 *
 * - `publint --strict`: the `exports`, `bin`, `files` and `types` fields point at files that are
 *   in the tarball, in a form that Node and bundlers read the same way;
 * - `attw --profile esm-only` (Are the Types Wrong): every entry point resolves, with its types,
 *   under TypeScript's `node16` (ESM) and `bundler` resolution. The package is ESM only, so the
 *   CommonJS and `node10` columns are not asked for.
 *
 *   npm run check:package
 *
 * attw cannot list what the wildcard `"./*"` of the exports map covers, so the entry points are
 * named here: `.` and one per public module, i.e. every `src/*.ts` other than `bin.ts` (the
 * executable, kept out of the map) and `index.ts` (which is `.`). A public module added to `src/`
 * is checked without editing this file or the exports map.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "node_modules", ".bin")

/** The subpaths a user can import: `.` and `./<Module>` for each public module. */
export const entrypoints = (): ReadonlyArray<string> => [
  ".",
  ...readdirSync(join(root, "src"))
    .filter((file) => file.endsWith(".ts") && file !== "bin.ts" && file !== "index.ts")
    .map((file) => `./${file.slice(0, -".ts".length)}`)
    .sort()
]

const step = (title: string, command: string, args: ReadonlyArray<string>) => {
  process.stdout.write(`\n== ${title}\n`)
  const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"] })
  if (result.status !== 0) {
    process.stderr.write(`${title}: failed (${result.status ?? result.signal})\n`)
    process.exit(1)
  }
}

const main = () => {
  const work = mkdtempSync(join(tmpdir(), "toolpool-check-"))
  try {
    step("npm pack", "npm", ["pack", "--silent", "--pack-destination", work])
    const tarball = readdirSync(work).find((file) => file.endsWith(".tgz"))
    if (tarball === undefined) throw new Error(`npm pack wrote no tarball to ${work}`)
    const packed = join(work, tarball)
    step("publint", join(bin, "publint"), ["run", packed, "--strict"])
    step("attw", join(bin, "attw"), [
      packed,
      "--profile",
      "esm-only",
      "--format",
      "table-flipped",
      "--no-emoji",
      "--no-color",
      "--entrypoints",
      ...entrypoints()
    ])
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main()
