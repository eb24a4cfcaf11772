/**
 * Rows of the result table, how they are judged against their targets, and how they are printed.
 */

/** One figure of the benchmark, as printed and as written with `--json`. */
export interface Row {
  readonly figure: string
  readonly unit: string
  readonly toolpool: number
  readonly baseline: number
  /** toolpool / baseline */
  readonly ratio: number
  readonly target: string
  readonly met: boolean
}

/**
 * What a figure must reach: a bound on the ratio to the baseline, or an absolute bound on
 * the toolpool figure itself.
 */
export type Target =
  | { readonly _tag: "RatioAtMost"; readonly max: number }
  | { readonly _tag: "RatioAtLeast"; readonly min: number }
  | { readonly _tag: "AtMost"; readonly max: number; readonly label: string }

export const ratioAtMost = (max: number): Target => ({ _tag: "RatioAtMost", max })
export const ratioAtLeast = (min: number): Target => ({ _tag: "RatioAtLeast", min })
export const atMost = (max: number, label: string): Target => ({ _tag: "AtMost", max, label })

const round = (value: number): number => {
  if (!Number.isFinite(value)) return value
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3
  return Number(value.toFixed(digits))
}

export const row = (figure: string, unit: string, toolpool: number, baseline: number, target: Target): Row => {
  // judged as printed, so that the table never shows "2" next to a missed "ratio <= 2"
  const ratio = Number((toolpool / baseline).toFixed(2))
  switch (target._tag) {
    case "RatioAtMost":
      return row_(figure, unit, toolpool, baseline, ratio, `ratio <= ${target.max}`, ratio <= target.max)
    case "RatioAtLeast":
      return row_(figure, unit, toolpool, baseline, ratio, `ratio >= ${target.min}`, ratio >= target.min)
    case "AtMost":
      return row_(figure, unit, toolpool, baseline, ratio, `<= ${target.label}`, toolpool <= target.max)
  }
}

const row_ = (
  figure: string,
  unit: string,
  toolpool: number,
  baseline: number,
  ratio: number,
  target: string,
  met: boolean
): Row => ({
  figure,
  unit,
  toolpool: round(toolpool),
  baseline: round(baseline),
  ratio,
  target,
  met
})

const COLUMNS = ["figure", "unit", "toolpool", "baseline", "ratio", "target", "met"] as const

/** The rows as a plain-text table (also valid Markdown). */
export const table = (rows: ReadonlyArray<Row>): string => {
  const cells = rows.map((r) => COLUMNS.map((c) => c === "met" ? (r.met ? "yes" : "NO") : String(r[c])))
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((line) => (line[i] ?? "").length)))
  const numeric = (i: number) => i >= 2 && i <= 4
  const format = (line: ReadonlyArray<string>) =>
    "| " +
    line.map((cell, i) => numeric(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)).join(" | ") +
    " |"
  const rule = "|" + widths.map((w, i) => numeric(i) ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2)).join("|") + "|"
  return [format(COLUMNS), rule, ...cells.map(format)].join("\n")
}
