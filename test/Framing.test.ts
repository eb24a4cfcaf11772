import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, ParseResult, Schema } from "effect"
import { Framing } from "../src/index.js"

const decode = Schema.decodeUnknownEither(Framing.Framing, { onExcessProperty: "error" })

/** The first problem with a framing: where, and what. */
const problem = (input: unknown) => {
  const result = decode(input)
  if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(result.left)
  return { path: issue?.path.join("."), message: issue?.message }
}

describe("Framing", () => {
  it("every constructor makes a framing the schema accepts as it is", () => {
    const framings: ReadonlyArray<Framing.Framing> = [
      Framing.lines(),
      Framing.ndjson(),
      Framing.ndjson({ endsTurn: (m) => m.type === "result" }),
      Framing.ndjson({ schema: Schema.Struct({ type: Schema.String }), endsTurn: { type: "result" } }),
      Framing.sentinel({ command: (m) => `print "${m}\\n"` }),
      Framing.prompt(/>>> $/i, { continuation: /\.\.\. $/, promptChange: "x", stderr: true, settle: "10 millis" }),
      Framing.quiet("1 second"),
      Framing.contentLength(),
      Framing.jsonRpc({ over: "contentLength" })
    ]
    for (const framing of framings) expect(decode(framing)).toEqual(Either.right(framing))
  })

  it("takes framings as plain data, filling in defaults", () => {
    const sentinel = decode({ _tag: "Sentinel", command: ".print {marker}" })
    expect(Either.isRight(sentinel) && sentinel.right._tag === "Sentinel" && sentinel.right.marker).toMatch(
      /^__toolpool_[0-9a-f]{16}__$/
    )
    expect(decode({ _tag: "Prompt", pattern: "> $" })).toEqual(Either.right({
      _tag: "Prompt",
      pattern: "> $",
      flags: "",
      window: 1024,
      stderr: false,
      stripEcho: false
    }))
    const quiet = decode({ _tag: "Quiet", duration: "250 millis" })
    expect(Either.isRight(quiet) && quiet.right._tag === "Quiet" && Duration.toMillis(quiet.right.duration)).toBe(250)
    expect(Either.isRight(decode({ _tag: "Ndjson", endsTurn: { type: "result" } }))).toBe(true)
  })

  it("prompt keeps the flags of a RegExp but not g or y, which would make matching stateful", () => {
    expect(Framing.prompt(/x$/giy)).toMatchObject({ pattern: "x$", flags: "i" })
  })

  const rejected: ReadonlyArray<[string, unknown, string, RegExp]> = [
    ["a bad prompt regex", Framing.prompt("(unclosed"), "pattern", /not a valid regular expression/],
    ["a bad continuation regex", Framing.prompt("> $", { continuation: "[" }), "continuation", /regular expression/],
    ["an empty prompt-change input", { _tag: "Prompt", pattern: ">", promptChange: "" }, "promptChange", /empty/],
    ["a quiet period of zero", { _tag: "Quiet", duration: 0 }, "duration", /greater than zero/],
    ["a negative quiet period", { _tag: "Quiet", duration: -5 }, "duration", /greater than zero/],
    ["a nonsense quiet period", { _tag: "Quiet", duration: "soon" }, "duration", /expected a duration/],
    ["a negative settle time", { _tag: "Prompt", pattern: ">", settle: -1 }, "settle", /greater than zero/],
    ["a sentinel template without {marker}", { _tag: "Sentinel", command: ".print done" }, "command", /\{marker\}/],
    ["a sentinel command that is a number", { _tag: "Sentinel", command: 3 }, "command", /function/],
    ["a marker with spaces", { _tag: "Sentinel", command: "{marker}", marker: "a b c d e f" }, "marker", /printable/],
    ["a short marker", { _tag: "Sentinel", command: "{marker}", marker: "abc" }, "marker", /8 to 200/],
    ["an endsTurn that is a number", { _tag: "Ndjson", endsTurn: 3 }, "endsTurn", /function|object/],
    ["a message schema that is no schema", { _tag: "Ndjson", schema: "x" }, "schema", /Schema/],
    ["an unknown transport", { _tag: "JsonRpc", over: "http" }, "over", /ndjson|contentLength/],
    ["an unknown key", { _tag: "Lines", delimiter: ";" }, "delimiter", /.+/],
    ["an unknown framing", { _tag: "Xml" }, "_tag", /Lines/]
  ]

  for (const [name, input, path, message] of rejected) {
    it(`rejects ${name}, naming the field`, () => {
      const found = problem(input)
      expect(found.path).toBe(path)
      expect(found.message).toMatch(message)
    })
  }
})
