/**
 * What Linux's `/proc/<pid>/stat` says of a process: the fields after the parenthesised command
 * name (which may hold spaces) are state, parent pid, process group, ...
 * @internal
 */
import { readFileSync } from "node:fs"

/** @internal */
export interface ProcStat {
  readonly state: string
  readonly ppid: number
  readonly pgrp: number
}

/** The process's stat, or undefined if it is gone, unreadable, or there is no `/proc`. @internal */
export const procStat = (pid: number | string): ProcStat | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
    const [state = "", ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { state, ppid: Number(ppid), pgrp: Number(pgrp) }
  } catch {
    return undefined
  }
}
