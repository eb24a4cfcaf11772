/**
 * Whether the optional dependency node-pty can be loaded (it is built by its install script,
 * which needs a C++ compiler where no prebuilt binary fits). As with `lacks` in installed.ts:
 * without it the pty tests are skipped, and under `TOOLPOOL_REQUIRE_TOOLS=1` (CI) the run fails.
 */
export const lacksNodePty = async (): Promise<boolean> => {
  try {
    await import("node-pty")
    return false
  } catch (error) {
    if (process.env.TOOLPOOL_REQUIRE_TOOLS === "1") {
      throw new Error(`node-pty cannot be loaded, and TOOLPOOL_REQUIRE_TOOLS=1 requires it: ${String(error)}`)
    }
    return true
  }
}
