/**
 * Helpers the tiers' compare functions share: a CSV cell as a number, and the values of a column over
 * successful rows.
 * @module
 */
import type { CsvTextRow } from "./tier.ts";

/** A cell as a finite number, or undefined (empty, or not a number). */
export function cellNumber(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The numeric values of `col` in the rows that did not fail (`ok` is not "false") and pass `pred`.
 *
 * @example
 * ```ts
 * measuredValues([{ ok: "true", ttft_ms: "12" }], "ttft_ms", () => true); // [12]
 * ```
 */
export function measuredValues(
  rows: readonly CsvTextRow[],
  col: string,
  pred: (r: CsvTextRow) => boolean,
): number[] {
  return rows.filter((r) => r.ok !== "false" && pred(r)).map((r) => cellNumber(r[col])).filter((
    v,
  ): v is number => v !== undefined);
}

/** The median of numbers (undefined for none). */
function median(xs: readonly number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Curve points from rows: rows grouped by `x` (and `series`), each point the median of `col` over its rows,
 * with the values kept for the noise test; points sorted by x (numbers numerically).
 *
 * @example
 * ```ts
 * curvePoints(rows, { x: (r) => Number(r.concurrency), col: "throughput_rps" });
 * ```
 */
export function curvePoints(
  rows: readonly CsvTextRow[],
  by: {
    x: (r: CsvTextRow) => number | string | undefined;
    col: string;
    series?: (r: CsvTextRow) => string | undefined;
  },
): { x: number | string; y: number; series?: string; values: number[] }[] {
  const groups = new Map<string, { x: number | string; series?: string; values: number[] }>();
  for (const r of rows) {
    if (r.ok === "false") continue;
    const x = by.x(r);
    const v = cellNumber(r[by.col]);
    if (x === undefined || (typeof x === "number" && !Number.isFinite(x)) || v === undefined) continue;
    const series = by.series?.(r);
    const key = `${x}|${series ?? ""}`;
    const g = groups.get(key) ?? { x, ...(series !== undefined ? { series } : {}), values: [] };
    g.values.push(v);
    groups.set(key, g);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, y: median(g.values)! }))
    .sort((a, b) =>
      typeof a.x === "number" && typeof b.x === "number" ? a.x - b.x : String(a.x).localeCompare(String(b.x))
    );
}
