/**
 * What runners and clients say to each other: two entity types over one protocol.
 *
 * `Session` has one entity per `submit` key: its turns run one at a time, on the instance the
 * key holds in the runner's pool. `Lane` carries keyless turns: a client spreads them over a
 * few dozen lanes, which the cluster spreads over the runners.
 *
 * Both answer `Open` (the session's epoch, creating the session when new) and `Turn`. A turn
 * carries the epoch its caller saw last, and runs only when the session still has it: that is
 * what keeps a turn the cluster re-sends after a runner died from running on a rebuilt session.
 * @internal
 */
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import * as Wire from "../../ClusterError.js"
import type { SubmitError } from "../../ToolPool.js"

/** @internal */
export const Opened = Schema.Struct({ runner: Schema.String, epoch: Schema.String })

/** @internal */
export const Open = Rpc.make("Open", { success: Opened })

/** @internal */
export const Turned = Schema.Struct({
  runner: Schema.String,
  instance: Schema.Number,
  output: Schema.String,
  epoch: Schema.String
})

/** @internal */
export const Turn = Rpc.make("Turn", {
  payload: {
    input: Schema.String,
    epoch: Schema.String,
    /** Durations in milliseconds; the runner pool's own when absent. */
    timeout: Schema.optional(Schema.Number),
    inactivityTimeout: Schema.optional(Schema.Number),
    acquireTimeout: Schema.optional(Schema.Number)
  },
  success: Turned,
  error: Wire.RunnerError
})

/** A part of a streamed turn, as `ToolPool.StreamPart`, its end naming runner and epoch. @internal */
export const Part = Schema.Union(
  Schema.TaggedStruct("Output", { text: Schema.String }),
  Schema.TaggedStruct("Message", { message: Schema.Unknown }),
  Schema.TaggedStruct("Notification", { method: Schema.String, params: Schema.Unknown }),
  Schema.TaggedStruct("Done", Turned.fields)
)

/** `Turn` as a stream of parts (`submitStream`). @internal */
export const TurnStream = Rpc.make("TurnStream", {
  payload: Turn.payloadSchema.fields,
  success: Part,
  error: Wire.RunnerError,
  stream: true
})

/** @internal */
export const Session = Entity.make("toolpool/Session", [Open, Turn, TurnStream])

/** @internal */
export const Lane = Entity.make("toolpool/Lane", [Open, Turn, TurnStream])

/** A failure of the runner's pool, as it crosses the wire. @internal */
export const toWire = (runner: string, error: SubmitError): Wire.RunnerError => {
  switch (error._tag) {
    case "TurnTimeout": {
      const { instance, kind, pid, timeout } = error
      return new Wire.TurnTimeout({ runner, instance, pid, timeout, kind })
    }
    case "InstanceExited": {
      const { exitCode, instance, pid, signal, stderrTail } = error
      return new Wire.InstanceExited({ runner, instance, pid, exitCode, signal, stderrTail })
    }
    case "InstanceNotRunning":
      return new Wire.InstanceNotRunning({ runner, instance: error.instance, state: error.state })
    case "WriteFailed":
      return new Wire.WriteFailed({ runner, instance: error.instance, pid: error.pid, detail: error.detail })
    case "ResponseTooLarge":
      return new Wire.ResponseTooLarge({ runner, instance: error.instance, pid: error.pid, limit: error.limit })
    case "RpcError": {
      const { code, data, detail, instance, method } = error
      return new Wire.RpcError({ runner, instance, method, code, detail, data })
    }
    case "IncompleteInput":
      return new Wire.IncompleteInput({ runner, instance: error.instance, output: error.output })
    case "PoolBusy":
      return new Wire.PoolBusy({ runner, queued: error.queued, reason: error.reason })
    case "PoolUnavailable":
      // Nothing on that runner can serve in time: to the client it is a busy runner, and it
      // tries another (the reason says why, and when that runner tries again).
      return new Wire.PoolBusy({ runner, queued: 0, reason: error.message })
    case "PoolClosed":
      return new Wire.PoolClosed({ runner })
    case "UnknownInstance":
      // submit never names an instance; a lease of one that went away reads as not running
      return new Wire.InstanceNotRunning({ runner, instance: error.instance, state: "removed" })
  }
}
