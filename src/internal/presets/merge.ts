import { randomBytes } from "node:crypto"
import type { Input } from "../../PoolOptions.js"
import type { Overrides } from "../../Presets.js"
import { version } from "../version.js"

/**
 * The preset with the caller's options over it. Each option replaces the preset's, except `env`,
 * whose variables are added to the preset's (a preset's variables are needed by its framing).
 * @internal
 */
export const merge = (preset: Input, overrides: Overrides | undefined): Input => {
  if (overrides === undefined) return preset
  const merged: Input = { ...preset, ...overrides }
  return preset.env === undefined || overrides.env === undefined
    ? merged
    : { ...merged, env: { ...preset.env, ...overrides.env } }
}

/**
 * A token no tool prints by accident, to use as a prompt: letters, digits and underscores only,
 * so that it is also its own regular expression.
 * @internal
 */
export const token = (role: string): string => `__toolpool_${role}_${randomBytes(6).toString("hex")}__`

/** The name and version a preset introduces the pool with in a handshake. @internal */
export const clientInfo = { name: "toolpool", version } as const
