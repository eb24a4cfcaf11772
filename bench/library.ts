/**
 * The library under test, as it ships: the compiled `dist/` (which `npm run bench` builds
 * first), not `src/` run through tsx. tsx's transform names every function it creates
 * (`__name`), which put about 10 us on each turn of this benchmark; no user runs that code.
 * `TOOLPOOL_BENCH_SOURCE=1` measures `src/` anyway.
 */
import type * as Library from "../src/index.js"

const entry = process.env["TOOLPOOL_BENCH_SOURCE"] === "1" ? "../src/index.js" : "../dist/index.js"

export const { Framing, ToolPool } = (await import(entry)) as typeof Library
