/**
 * What a decoder produces: a complete response, or the news that one was too large
 * and its bytes were dropped up to the next boundary.
 * @internal
 */
export type Frame =
  | { readonly _tag: "Response"; readonly text: string }
  | { readonly _tag: "TooLarge" }

/** @internal */
export const response = (text: string): Frame => ({ _tag: "Response", text })

/** @internal */
export const tooLarge: Frame = { _tag: "TooLarge" }

/**
 * Turns an instance's stdout bytes into frames. `push` is called with every chunk in order
 * and returns the frames that chunk completed (most often none or one).
 * @internal
 */
export interface Decoder {
  readonly push: (chunk: Uint8Array) => ReadonlyArray<Frame>
}

/** @internal */
export const noFrames: ReadonlyArray<Frame> = []

/** Removes one trailing line break, the one that separates a response from the prompt. */
export const trimFinalNewline = (text: string): string =>
  text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text
