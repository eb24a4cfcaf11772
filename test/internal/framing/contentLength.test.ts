import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { encodeContentLength, makeContentLengthDecoder } from "../../../src/internal/framing/contentLength.js"
import type { Frame } from "../../../src/internal/framing/frame.js"
import { byteByByte, bytes, cutPoints, feed, splitAt, texts, utf8Length } from "./chunks.js"

const message = (body: string) => `Content-Length: ${utf8Length(body)}\r\n\r\n${body}`

describe("contentLength framing", () => {
  it("encodes a body with its length in bytes, not characters", () => {
    expect(new TextDecoder().decode(encodeContentLength("{\"é\":\"😀\"}"))).toBe(
      "Content-Length: 13\r\n\r\n{\"é\":\"😀\"}"
    )
  })

  it("reads messages back to back, other headers ignored", () => {
    const stream = message("{\"a\":1}") +
      "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}" + message("")
    expect(texts(feed(makeContentLengthDecoder(100), [bytes(stream)]))).toEqual(["{\"a\":1}", "{}", ""])
  })

  it("takes exactly N bytes, even when the body is split inside a character", () => {
    const data = bytes(message("héllo 😀"), message("next"))
    expect(texts(feed(makeContentLengthDecoder(100), byteByByte(data)))).toEqual(["héllo 😀", "next"])
  })

  it("ignores line breaks between messages and log lines in a header block", () => {
    const stream = "\r\n" + message("a") + "\r\n\r\nstarting up\nContent-Length: 1\r\n\r\nb"
    expect(texts(feed(makeContentLengthDecoder(100), [bytes(stream)]))).toEqual(["a", "b"])
  })

  it("reports a header block without a valid length, and goes on", () => {
    const frames = feed(makeContentLengthDecoder(100), [bytes("Content-Length: ten\r\n\r\n", message("ok"))])
    expect(frames).toEqual([
      { _tag: "Skipped", text: "Content-Length: ten", reason: "not a valid Content-Length: ten" },
      { _tag: "Response", text: "ok" }
    ])
  })

  it("reports a body over maxBytes once and skips exactly its bytes", () => {
    const big = "x".repeat(1000)
    const data = bytes(message(big), message("small"))
    for (const chunks of [[data], splitAt(data, [10, 30, 500, 1020])]) {
      expect(feed(makeContentLengthDecoder(10), chunks)).toEqual([{ _tag: "TooLarge" }, {
        _tag: "Response",
        text: "small"
      }])
    }
  })

  it("drops a header block longer than 8 KiB up to its end", () => {
    const frames = feed(makeContentLengthDecoder(100), [bytes("X".repeat(20_000), "\r\n\r\n", message("ok"))])
    expect(frames.map((f) => f._tag)).toEqual(["Skipped", "Response"])
    expect(frames[1]).toEqual({ _tag: "Response", text: "ok" })
  })

  it.prop("any split of the stream gives the frames of the whole", {
    bodies: fc.array(fc.string({ unit: "binary", maxLength: 20 }), { maxLength: 8 }),
    maxBytes: fc.integer({ min: 0, max: 60 }),
    cuts: cutPoints
  }, ({ bodies, cuts, maxBytes }) => {
    const data = bytes(bodies.map((body) => encodeContentLength(body)).reduce((a, b) => bytes(a, b), new Uint8Array(0)))
    const expected: Array<Frame> = bodies.map((body) =>
      utf8Length(body) > maxBytes ? { _tag: "TooLarge" } : { _tag: "Response", text: body }
    )
    expect(feed(makeContentLengthDecoder(maxBytes), splitAt(data, cuts))).toEqual(expected)
  })
})
