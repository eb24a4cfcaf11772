/**
 * Processes in memory (to be written).
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Transport from "../../Transport.js"
import { makeTransport } from "./transport.js"

/** @internal */
export const scripted = (_script: Transport.Script): Transport.Transport =>
  makeTransport("scripted", () => Effect.dieMessage("not yet"))
