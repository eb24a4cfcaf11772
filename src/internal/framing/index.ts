import type { Framing } from "../../Framing.js"
import type { Decoder } from "./frame.js"
import { makeLinesDecoder } from "./lines.js"
import { makePromptDecoder } from "./prompt.js"

/** @internal */
export const makeDecoder = (framing: Framing, maxBytes: number): Decoder => {
  switch (framing._tag) {
    case "Lines":
      return makeLinesDecoder(maxBytes)
    case "Prompt":
      return makePromptDecoder({ ...framing, maxBytes })
  }
}

/** Whether the first frame is a banner the instance prints before it is ready. @internal */
export const waitsForBanner = (framing: Framing): boolean => framing._tag === "Prompt"

const encoder = new TextEncoder()

/** Every framing so far writes a request as one line. @internal */
export const encode = (_framing: Framing, input: string): Uint8Array =>
  encoder.encode(input.endsWith("\n") ? input : input + "\n")
