/**
 * The read-eval-print loop that the `node` preset runs (`node -e <this> READY MORE`).
 *
 * Why not `node -i`: it prints a prompt (`> ` or `... `) after every line it reads, so a request
 * of several lines shows prompts in the middle of its turn, and a slow statement (an `await`)
 * leaves such a prompt at the end of the output for as long as it runs. This is Node's own
 * `repl` module (the same evaluation as `node -i`: top-level await, `_`, dot commands), fed one
 * line at a time by a small loop that knows what input is still pending:
 *
 * - the REPL's prompts are never printed; READY is printed when the REPL asks for a line and
 *   no input is left, MORE when it asks for the rest of an incomplete statement;
 * - stderr is written to stdout, so `console.error` output is part of the response, in order;
 * - `undefined` results are not printed (`ignoreUndefined`), so a declaration answers "";
 * - SIGINT while it waits drops the pending input and the incomplete statement (`.break`);
 *   SIGINT while code runs stops that code (`breakEvalOnSigint`).
 *
 * The SIGINT listener is only attached while the REPL waits for input: while code runs, the
 * REPL's own watchdog must be the only one handling the signal.
 * @internal
 */
export const nodeDriver = String.raw`
process.stderr.write = process.stdout.write.bind(process.stdout)
const repl = require("node:repl")
const { PassThrough, Writable } = require("node:stream")
const [READY, MORE] = process.argv.slice(-2)
const PROMPT = "\u0000toolpool-prompt\u0000"
const lines = []
let partial = ""
let waiting = false
let incomplete = false
let prompted = false
let started = false
const input = new PassThrough()

const onSigint = () => {
  lines.length = 0
  partial = ""
  if (waiting) give(".break")
}

const give = (line) => {
  waiting = false
  prompted = false
  process.removeListener("SIGINT", onSigint)
  input.write(line + "\n")
}

const feed = () => {
  if (!waiting) return
  if (!started) {
    started = true
    prompted = true
    process.stdout.write(READY)
  }
  const line = lines.shift()
  if (line !== undefined) give(line)
  else if (partial === "" && !prompted) {
    prompted = true
    process.stdout.write(incomplete ? MORE : READY)
  }
}

const output = new Writable({
  write(chunk, _encoding, done) {
    const text = String(chunk)
    if (text === PROMPT || /^\.\.\.+ *$/.test(text)) {
      waiting = true
      incomplete = text !== PROMPT
      if (process.listenerCount("SIGINT") === 0) process.on("SIGINT", onSigint)
      // one turn of the event loop, for input already in the pipe to be read
      setImmediate(feed)
    } else {
      process.stdout.write(text)
    }
    done()
  }
})

process.stdin.setEncoding("utf8")
process.stdin.on("data", (chunk) => {
  const parts = (partial + chunk).split("\n")
  partial = parts.pop()
  lines.push(...parts.map((line) => line.replace(/\r$/, "")))
  feed()
})
process.stdin.on("end", () => {
  if (partial !== "") lines.push(partial)
  partial = ""
  lines.push(".exit")
  feed()
})

const server = repl.start({
  prompt: PROMPT,
  input,
  output,
  terminal: false,
  useColors: false,
  useGlobal: true,
  ignoreUndefined: true,
  breakEvalOnSigint: true
})
server.on("exit", () => process.exit())
`
