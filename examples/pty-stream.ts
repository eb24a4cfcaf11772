/**
 * A tool that needs a terminal (the perl debugger) on a pty, and a turn read as a stream.
 * Run: npx tsx examples/pty-stream.ts (needs perl and the optional dependency node-pty).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Chunk, Console, Effect, Stream } from "effect"
import { Framing, ToolPool, Transport } from "toolpool"

export const program = Effect.gen(function*() {
  // the perl debugger writes its prompt to a terminal: give it one
  const perl = yield* ToolPool.make({
    command: "perl",
    args: ["-de0"],
    framing: Framing.prompt(/ *DB<\d+> $/),
    transport: Transport.pty({ cols: 120 })
  })
  yield* perl.request(0, "$x = 6") // ""
  // a turn as a stream: output as it comes, then the framed answer
  const parts = yield* perl.requestStream(0, "p $x * 7").pipe(
    Stream.tap((part) => Console.log(part)), // { _tag: "Output", ... } ... { _tag: "Done", output: "42" }
    Stream.runCollect
  )
  return Chunk.toReadonlyArray(parts)
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
}
