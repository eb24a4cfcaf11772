import { describe, expect, it } from "@effect/vitest"
import { Alarm } from "../../../src/internal/turn/alarm.js"

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("Alarm", () => {
  it("calls back once the time is up", async () => {
    const alarm = new Alarm()
    let fired = 0
    alarm.set(20, () => fired++)
    await sleep(5)
    expect(fired).toBe(0)
    await sleep(60)
    expect(fired).toBe(1)
  })

  it("a cancelled alarm does not call back", async () => {
    const alarm = new Alarm()
    let fired = 0
    alarm.set(20, () => fired++)
    alarm.cancel()
    await sleep(60)
    expect(fired).toBe(0)
  })

  it("a later deadline set while the timer runs for an earlier one is still kept", async () => {
    const alarm = new Alarm()
    const calls: Array<string> = []
    alarm.set(30, () => calls.push("first"))
    alarm.cancel()
    // the timer still runs for the first deadline; it must fire early, see the time left, wait again
    alarm.set(80, () => calls.push("second"))
    await sleep(50)
    expect(calls).toEqual([])
    await sleep(80)
    expect(calls).toEqual(["second"])
  })

  it("an earlier deadline than the running timer's is honoured", async () => {
    const alarm = new Alarm()
    const calls: Array<string> = []
    alarm.set(500, () => calls.push("long"))
    alarm.set(20, () => calls.push("short"))
    await sleep(80)
    expect(calls).toEqual(["short"])
    alarm.cancel()
  })
})

describe("Alarm, beyond what a timer can wait", () => {
  it("an infinite or overlong deadline sets no timer, so nothing spins or warns", async () => {
    const warnings: Array<string> = []
    const onWarning = (warning: Error) => warnings.push(warning.name)
    process.on("warning", onWarning)
    const alarm = new Alarm()
    let fired = 0
    alarm.set(Number.POSITIVE_INFINITY, () => fired++)
    alarm.set(2 ** 40, () => fired++)
    await sleep(50)
    process.off("warning", onWarning)
    expect(fired).toBe(0)
    expect(warnings).toEqual([])
  })
})
