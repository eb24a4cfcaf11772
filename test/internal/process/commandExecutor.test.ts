import { NodeContext } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import { Transport } from "../../../src/index.js"
import { conformance } from "./conformance.js"

conformance("command-executor (Node's executor)", {
  transport: Transport.commandExecutor.pipe(Effect.provide(NodeContext.layer)),
  terminal: false
})
