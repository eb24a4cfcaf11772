import * as Effect from "effect/Effect"
import { Transport } from "../../../src/index.js"
import { conformance } from "./conformance.js"

conformance("pipes", { transport: Effect.sync(() => Transport.pipes()), terminal: false })
