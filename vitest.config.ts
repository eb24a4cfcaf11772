import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // examples import the package by name, as a user would
    alias: { toolpool: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/utils/no-leftover-processes.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
