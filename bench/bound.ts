/**
 * A probe, not part of `npm run bench`: how close to the raw pipe any reader can come that
 * turns an 8 MiB answer into one string, without the pool. One tool in prompt mode, plain
 * Node, three readers in turn (15 answers each after 3 rounds of warm-up, medians), each timed
 * from the request to the first read of the answer's last character, as the large section is:
 *
 * - raw: counts the bytes (the large section's baseline);
 * - rope: decodes each chunk as it comes (`StringDecoder`) and joins the pieces with `+`, which
 *   V8 copies into one flat string at the first read (what the pool's framings do);
 * - bytes: keeps the chunks, joins their bytes once at the end and makes the string from them
 *   in one call (Latin-1 when all ASCII, which is the same text).
 *
 * Beside each reader's time it gives the minor page faults the process took per answer: an
 * 8 MiB string in V8's heap is put on fresh pages (2048 of 4 KiB), and on this kind of machine
 * each fault costs microseconds.
 *
 *   npx tsx bench/bound.ts
 */
import { isAscii } from "node:buffer"
import { spawn } from "node:child_process"
import { StringDecoder } from "node:string_decoder"
import * as Baseline from "./baseline.js"
import * as Fixture from "./fixture.js"
import { median, MiB, now } from "./stats.js"

const BYTES = 8 * MiB
const ANSWERS = 15
const WARMUP_ROUNDS = 3
/** What follows the filler: the final line break and the prompt. */
const END = `\n${Fixture.PROMPT}`

type Reader = "raw" | "rope" | "bytes"
const READERS: ReadonlyArray<Reader> = ["raw", "rope", "bytes"]

/** The answer's text, for the readers that make one; checked, and its last character read. */
const check = (reader: Reader, text: string): void => {
  if (text.length !== BYTES || text.charCodeAt(BYTES - 1) !== 0x78) {
    throw new Error(`${reader} made ${text.length} characters, expected ${BYTES}`)
  }
}

Baseline.useToolCopy()
const child = spawn(Fixture.command, Fixture.toolArgs("prompt"), { stdio: ["pipe", "pipe", "pipe"] })
child.stderr.resume()
let onChunk: (chunk: Buffer) => void = () => {}
child.stdout.on("data", (chunk: Buffer) => onChunk(chunk))

/** Reads until `total` bytes came, the way `reader` does; resolves once its text (if any) was read. */
const read = (reader: Reader, total: number): Promise<void> =>
  new Promise((resolve) => {
    let received = 0
    const chunks: Array<Buffer> = []
    const decoder = new StringDecoder("utf8")
    let rope = ""
    onChunk = (chunk) => {
      received += chunk.length
      if (reader === "bytes") chunks.push(chunk)
      if (reader === "rope") rope += decoder.write(chunk)
      if (received < total) return
      if (reader === "rope") check(reader, rope.slice(0, rope.length - END.length))
      if (reader === "bytes") {
        const all = Buffer.concat(chunks)
        const end = all.length - END.length
        check(reader, all.toString(isAscii(all) ? "latin1" : "utf8", 0, end))
      }
      resolve()
    }
  })

await read("raw", `mock-tool ready (pid ${child.pid})\n${Fixture.PROMPT}`.length)
const times = new Map<Reader, Array<number>>(READERS.map((reader) => [reader, []]))
const faults = new Map<Reader, number>(READERS.map((reader) => [reader, 0]))
for (let round = 0; round < WARMUP_ROUNDS + ANSWERS; round++) {
  for (const reader of READERS) {
    const faulted = process.resourceUsage().minorPageFault
    const start = now()
    const done = read(reader, BYTES + END.length)
    child.stdin.write(`/flood ${BYTES}\n`)
    await done
    if (round >= WARMUP_ROUNDS) {
      times.get(reader)?.push(now() - start)
      faults.set(reader, (faults.get(reader) ?? 0) + process.resourceUsage().minorPageFault - faulted)
    }
  }
}
const raw = median(times.get("raw") ?? [])
for (const [reader, ms] of times) {
  const m = median(ms)
  console.log(
    `${reader.padEnd(6)} ${m.toFixed(2)} ms  ${(BYTES / MiB / (m / 1000)).toFixed(0)} MiB/s  ratio to raw ${
      (raw / m).toFixed(2)
    }  page faults per answer ${((faults.get(reader) ?? 0) / ANSWERS).toFixed(0)}`
  )
}
child.stdin.end()
