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
