/**
 * The pseudo-terminal transport, over the optional dependency node-pty (to be written).
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Transport from "../../Transport.js"
import { makeTransport } from "./transport.js"

/** @internal */
export const pty = (_options: Transport.PtyOptions = {}): Transport.Transport =>
  makeTransport("pty", () => Effect.dieMessage("not yet"))
