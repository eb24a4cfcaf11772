#!/usr/bin/env node
/**
 * The `toolpool` executable.
 *
 * `NodeRuntime.runMain` interrupts the program on SIGINT and SIGTERM; the commands then stop
 * taking prompts, shut the pool down and print their summary before the interruption
 * completes. The exit code is the one the command asks for, or 130/143 after a signal. A second
 * signal is left to Node's default handling, which ends the process at once (tools that exit
 * when their stdin closes still go).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cli from "./Cli.js"

let signal: "SIGINT" | "SIGTERM" | undefined
const onSigint = () => received("SIGINT")
const onSigterm = () => received("SIGTERM")
const received = (name: "SIGINT" | "SIGTERM") => {
  signal = name
  process.off("SIGINT", onSigint)
  process.off("SIGTERM", onSigterm)
}
process.on("SIGINT", onSigint)
process.on("SIGTERM", onSigterm)

NodeRuntime.runMain(Cli.main(process.argv.slice(2)).pipe(Effect.provide(NodeContext.layer)), {
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit) && typeof exit.value === "number") return onExit(exit.value)
    // Interrupted: by a signal, whose summary is printed already. Anything else is a bug, reported by runMain.
    onExit(signal === undefined ? Cli.ExitCode.failed : Cli.ExitCode[signal])
  }
})
