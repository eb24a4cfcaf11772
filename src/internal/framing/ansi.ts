/**
 * Removes ANSI escape sequences (colours, cursor moves, window titles, bracketed-paste
 * switches) from text that arrives in pieces: a sequence split across pieces is removed too.
 *
 * Recognised: CSI (`ESC [` parameters, intermediates, one final byte), the string sequences
 * OSC, DCS, SOS, PM and APC (`ESC ]`, `ESC P`, `ESC X`, `ESC ^`, `ESC _`, ended by BEL or
 * `ESC \`), character-set and similar three-byte sequences (`ESC ( B`), and every other
 * two-byte `ESC x`.
 * @internal
 */

type State =
  | "text"
  | "escape" // after ESC
  | "csi" // inside ESC [ ...
  | "string" // inside OSC/DCS/SOS/PM/APC
  | "stringEscape" // ESC seen inside a string: "\" ends it
  | "designator" // after ESC ( and the like: one more character

const ESC = "\x1b"
const BEL = "\x07"

/** @internal */
export interface AnsiStripper {
  /** The text of `piece` without escape sequences; an unfinished sequence is held for the next piece. */
  readonly strip: (piece: string) => string
}

/** @internal */
export const makeAnsiStripper = (): AnsiStripper => {
  let state: State = "text"

  const afterEscape = (ch: string): State => {
    if (ch === "[") return "csi"
    if (ch === "]" || ch === "P" || ch === "X" || ch === "^" || ch === "_") return "string"
    if (ch >= " " && ch <= "/") return "designator"
    return "text"
  }

  return {
    strip(piece) {
      if (state === "text" && !piece.includes(ESC)) return piece
      let out = ""
      let runStart = -1
      for (let i = 0; i < piece.length; i++) {
        const ch = piece.charAt(i)
        switch (state) {
          case "text":
            if (ch === ESC) {
              if (runStart !== -1) out += piece.slice(runStart, i)
              runStart = -1
              state = "escape"
            } else if (runStart === -1) {
              runStart = i
            }
            break
          case "escape":
            state = afterEscape(ch)
            break
          case "csi": {
            const code = ch.charCodeAt(0)
            // parameter bytes 0x30-0x3f and intermediate bytes 0x20-0x2f go on; anything else ends it
            if (code < 0x20 || code > 0x3f) state = "text"
            break
          }
          case "string":
            if (ch === BEL) state = "text"
            else if (ch === ESC) state = "stringEscape"
            break
          case "stringEscape":
            // ESC \ is the proper terminator; any other ESC x starts a new sequence.
            state = ch === "\\" ? "text" : afterEscape(ch)
            break
          case "designator":
            state = "text"
            break
        }
      }
      if (runStart !== -1) out += piece.slice(runStart)
      return out
    }
  }
}

/** Strips a whole text at once. @internal */
export const stripAnsi = (text: string): string => makeAnsiStripper().strip(text)
