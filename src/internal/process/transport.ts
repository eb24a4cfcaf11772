/**
 * What the transports share: the scoped life of a started process, errors, environment and
 * signals to a real process group.
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Transport from "../../Transport.js"

/** A started process and how to let go of what the transport holds for it. @internal */
export interface Edge extends Transport.Process {
  /** Frees the transport's handles (pipes, terminal); the process has been stopped or is gone. */
  readonly release: () => void
}

/**
 * A transport from its `start`. The process lives in the caller's scope: closing it sends
 * SIGTERM to the group if the process still runs (the pool has escalated before; this is the
 * last word, never a wait) and releases the handles.
 * @internal
 */
export const makeTransport = (
  name: string,
  start: (spec: Transport.Spec) => Effect.Effect<Edge, Transport.TransportError, Scope.Scope>
): Transport.Transport => ({
  [Transport.TypeId]: Transport.TypeId,
  name,
  spawn: (spec) =>
    Effect.acquireRelease(
      Effect.map(start(spec), trackExit),
      ({ edge, exited }) =>
        Effect.sync(() => {
          if (!exited()) edge.signal("SIGTERM", "group")
          edge.release()
        })
    ).pipe(Effect.map(({ edge }): Transport.Process => edge))
})

/** Wraps `listen` so that the transport knows when the process exited. */
const trackExit = (edge: Edge): { readonly edge: Edge; readonly exited: () => boolean } => {
  let exited = false
  const tracked: Edge = {
    ...edge,
    listen: (listener) =>
      edge.listen({
        ...listener,
        exit: (code, signal) => {
          exited = true
          listener.exit(code, signal)
        }
      })
  }
  return { edge: tracked, exited: () => exited }
}

/** The error of a failed spawn or `access`, by its errno code. @internal */
export const errnoReason = (error: unknown, otherwise?: "BadCwd"): Transport.TransportError => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const detail = error instanceof Error ? error.message : String(error)
  const reason = otherwise ??
    (code === "ENOENT" ? "NotFound" : code === "EACCES" || code === "EPERM" ? "PermissionDenied" : "Unknown")
  return new Transport.TransportError({ reason, detail })
}

/** The environment a process gets. @internal */
export const processEnv = (spec: Transport.Spec): Record<string, string | undefined> =>
  spec.extendEnv ? { ...process.env, ...spec.env } : { ...spec.env }

/**
 * Signals a real process, or the group it leads (`-pid`). False when no process was there.
 * @internal
 */
export const signalPid = (pid: number, signal: NodeJS.Signals | 0, target: "process" | "group"): boolean => {
  // Never a group id of 1 or less: kill(-1) would signal every process the user owns.
  if (pid <= 1) return false
  try {
    return process.kill(target === "group" ? -pid : pid, signal)
  } catch {
    return false
  }
}
