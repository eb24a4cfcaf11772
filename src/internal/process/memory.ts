/**
 * The resident memory of process groups, from Linux's `/proc`: each process's group is in
 * `/proc/<pid>/stat` (`procfs.ts`), its resident set `VmRSS` in `/proc/<pid>/status`. One scan
 * of `/proc` serves every group asked about. Elsewhere (no `/proc`) nothing is known.
 * @internal
 */
import { readdirSync, readFileSync } from "node:fs"
import { procStat } from "./procfs.js"

/** A process's resident set in bytes (0 for a zombie or a kernel thread), or undefined if gone. */
const rssOf = (pid: string): number | undefined => {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"))
    return match === null ? 0 : Number(match[1]) * 1024
  } catch {
    return undefined
  }
}

/**
 * Resident bytes of each of `groups`, summed over its processes; an empty map where `/proc` is
 * not there to read.
 * @internal
 */
export const groupsResident = (groups: ReadonlySet<number>): Map<number, number> => {
  const totals = new Map<number, number>()
  if (groups.size === 0) return totals
  let entries: Array<string>
  try {
    entries = readdirSync("/proc")
  } catch {
    return totals
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue
    const group = procStat(pid)?.pgrp
    if (group === undefined || !groups.has(group)) continue
    const rss = rssOf(pid)
    if (rss !== undefined) totals.set(group, (totals.get(group) ?? 0) + rss)
  }
  return totals
}
