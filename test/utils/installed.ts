/**
 * Whether a real tool that some tests drive (bc, sqlite3, python3) is installed. `npm test` on a
 * machine without it skips those tests, and says so; CI sets `TOOLPOOL_REQUIRE_TOOLS=1` (in
 * `.ci/run`, which installs them), and there a missing tool fails the run instead.
 */
import { spawnSync } from "node:child_process"

export const lacks = (tool: string): boolean => {
  const found = spawnSync("sh", ["-c", "command -v \"$0\"", tool], { stdio: "ignore" }).status === 0
  if (!found && process.env.TOOLPOOL_REQUIRE_TOOLS === "1") {
    throw new Error(`${tool} is not installed, and TOOLPOOL_REQUIRE_TOOLS=1 requires it`)
  }
  return !found
}
