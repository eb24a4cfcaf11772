/**
 * The transport over the platform's `CommandExecutor` (to be written).
 * @internal
 */
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Effect from "effect/Effect"
import type * as Transport from "../../Transport.js"
import { makeTransport } from "./transport.js"

/** @internal */
export const commandExecutor: Effect.Effect<Transport.Transport, never, CommandExecutor.CommandExecutor> = Effect.map(
  CommandExecutor.CommandExecutor,
  () => makeTransport("command-executor", () => Effect.dieMessage("not yet"))
)
