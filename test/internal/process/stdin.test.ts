import { describe, expect, it } from "@effect/vitest"
import { Writable } from "node:stream"
import { writableStdin } from "../../../src/internal/process/pipes.js"
import { Stdin } from "../../../src/internal/process/stdin.js"

/** A pipe that holds every write until `release` is called, as a full OS pipe does. */
const heldPipe = () => {
  const written: Array<string> = []
  const held: Array<() => void> = []
  const pipe = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString())
      held.push(done)
    }
  })
  const release = () => held.shift()?.()
  return { pipe, written, release }
}

const bytes = (text: string) => Buffer.from(text)
const tick = () => new Promise((resolve) => setImmediate(resolve))

describe("Stdin", () => {
  it("writes at once while the pipe keeps up", () => {
    const written: Array<string> = []
    const pipe = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString())
        done()
      }
    })
    const stdin = new Stdin(writableStdin(pipe), 2)
    expect(stdin.tryWrite(bytes("a\n"))).toBe(true)
    expect(stdin.tryWrite(bytes("b\n"))).toBe(true)
    expect(written).toEqual(["a\n", "b\n"])
  })

  it("refuses a write once capacity writes wait in the pipe's buffer, and queued writes go in order", async () => {
    const { pipe, release, written } = heldPipe()
    const stdin = new Stdin(writableStdin(pipe), 2)
    // the first write into an empty buffer is not counted; the next two fill the capacity
    expect(stdin.tryWrite(bytes("1"))).toBe(true)
    expect(stdin.tryWrite(bytes("2"))).toBe(true)
    expect(stdin.tryWrite(bytes("3"))).toBe(true)
    expect(stdin.tryWrite(bytes("4"))).toBe(false)
    const done: Array<string> = []
    stdin.enqueue(bytes("4"), (ok) => done.push(`4:${ok}`))
    stdin.enqueue(bytes("5"), (ok) => done.push(`5:${ok}`))
    // nobody jumps the queue
    expect(stdin.tryWrite(bytes("x"))).toBe(false)
    expect(done).toEqual([])
    for (let i = 0; i < 5; i++) {
      release()
      await tick()
    }
    expect(done).toEqual(["4:true", "5:true"])
    expect(written.join("")).toBe("12345")
  })

  it("a withdrawn write never goes out", async () => {
    const { pipe, release, written } = heldPipe()
    const stdin = new Stdin(writableStdin(pipe), 1)
    stdin.tryWrite(bytes("1"))
    stdin.tryWrite(bytes("2"))
    let called = false
    const withdraw = stdin.enqueue(bytes("3"), () => {
      called = true
    })
    withdraw()
    for (let i = 0; i < 3; i++) {
      release()
      await tick()
    }
    expect(called).toBe(false)
    expect(written.join("")).toBe("12")
  })

  it("ending refuses queued and later writes, and closes the pipe after what was written", async () => {
    const { pipe, release, written } = heldPipe()
    let finished = false
    pipe.on("finish", () => {
      finished = true
    })
    const stdin = new Stdin(writableStdin(pipe), 1)
    stdin.tryWrite(bytes("1"))
    stdin.tryWrite(bytes("2"))
    const done: Array<boolean> = []
    stdin.enqueue(bytes("3"), (ok) => done.push(ok))
    stdin.end()
    expect(done).toEqual([false])
    expect(stdin.ended).toBe(true)
    expect(stdin.tryWrite(bytes("4"))).toBe(false)
    stdin.enqueue(bytes("5"), (ok) => done.push(ok))
    expect(done).toEqual([false, false])
    for (let i = 0; i < 3; i++) {
      release()
      await tick()
    }
    expect(written.join("")).toBe("12")
    expect(finished).toBe(true)
  })
})
