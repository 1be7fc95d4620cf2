/**
 * A table computed in the open (in a notebook, with nodejs-polars) checked against the library's own numbers
 * for the same rows: {@link assertAgrees} throws, naming every value that differs, so a notebook cell fails
 * loudly instead of showing two different answers.
 *
 * Matching: each library row names its key columns (`key`); the table row with the same key values (as
 * numbers when both are numbers, else as text) is its partner. Every other column of the library row is
 * compared: numbers within `tolerance` (relative to the larger magnitude) or `absolute`, whichever is
 * looser; anything else for equality. A library value that is `undefined` (not measured) must be empty in
 * the table too (or its row absent). A library row without a partner, a column missing from the table, or a
 * table value that is empty where the library has a number are disagreements too. Table rows the library
 * has no row for are left alone (the library may know only some points) and counted in the summary. When
 * neither side measured anything, the summary says so (a warning, not a pass).
 * @module
 */
import type pl from "nodejs-polars";
import { type Displayable, displayable, escapeHtml } from "./bundle.ts";

/** Rows as plain objects, or a nodejs-polars DataFrame. */
export type RowsLike = readonly Record<string, unknown>[] | pl.DataFrame;

/** Options of {@link assertAgrees}. */
export interface AgreeOptions {
  /** The column(s) that identify a row in both tables. */
  key: string | readonly string[];
  /** Relative tolerance for numbers: |a - b| <= tolerance x max(|a|, |b|). Default 1e-9. */
  tolerance?: number;
  /** Absolute tolerance for numbers (e.g. rounding in a CSV). Default 0. */
  absolute?: number;
  /** What the table is, for messages. Default "the table". */
  what?: string;
}

/** What an agreement check found (when it did not throw). */
export interface Agreement extends Displayable {
  readonly kind: "agreement";
  /** Library rows matched. */
  readonly rows: number;
  /** Values compared. */
  readonly values: number;
  /** Values neither side measured (lib undefined, the table empty or without the row). */
  readonly not_measured: number;
  /** Table rows the library had no row for. */
  readonly unchecked_rows: number;
  readonly text: string;
}

function toRows(x: RowsLike): Record<string, unknown>[] {
  if (Array.isArray(x)) return x as Record<string, unknown>[];
  return (x as pl.DataFrame).toRecords() as Record<string, unknown>[];
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  return undefined;
}

function sameKey(a: unknown, b: unknown): boolean {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== undefined && y !== undefined) return x === y;
  return String(a) === String(b);
}

const pct = (x: number) => `${Number((100 * x).toPrecision(3))}%`;

function show(v: unknown): string {
  if (v === undefined || v === null) return "empty";
  const n = asNumber(v);
  return n !== undefined ? String(Number(n.toPrecision(8))) : JSON.stringify(v);
}

/**
 * Checks that `table` (computed in the notebook) agrees with `lib` (the library's numbers for the same rows)
 * and returns a displayable summary; throws an Error listing every disagreement.
 *
 * @example
 * ```ts
 * const t = pl.readCSV(csv).groupBy("series").agg(pl.col("ttft_ms").median().alias("p50_ms"));
 * await show(t, assertAgrees(t, [{ series: "warm", p50_ms: 12.5 }], { key: "series", tolerance: 1e-6 }));
 * ```
 */
export function assertAgrees(
  table: RowsLike,
  lib: readonly Record<string, unknown>[],
  opts: AgreeOptions,
): Agreement {
  const keys = typeof opts.key === "string" ? [opts.key] : [...opts.key];
  const tolerance = opts.tolerance ?? 1e-9;
  const absolute = opts.absolute ?? 0;
  const what = opts.what ?? "the table";
  if (!keys.length) {
    throw new Error("assertAgrees needs at least one key column (opts.key); name the row's id.");
  }
  const rows = toRows(table);
  const columns = new Set(rows.flatMap((r) => Object.keys(r)));
  const problems: string[] = [];
  for (const k of keys) {
    if (rows.length && !columns.has(k)) problems.push(`${what} has no key column '${k}'`);
  }
  let values = 0;
  let notMeasured = 0;
  const matched = new Set<number>();
  for (const want of lib) {
    const label = keys.map((k) => `${k}=${show(want[k])}`).join(", ");
    const cols = Object.keys(want).filter((c) => !keys.includes(c));
    const i = rows.findIndex((r) => keys.every((k) => sameKey(r[k], want[k])));
    if (i < 0) {
      // A row lib has no number for may be missing from the table too: not measured on both sides.
      if (cols.every((c) => want[c] === undefined)) notMeasured += cols.length;
      else problems.push(`${label}: lib has this row, ${what} has none`);
      continue;
    }
    matched.add(i);
    const got = rows[i];
    for (const col of cols) {
      const libValue = want[col];
      if (!columns.has(col)) {
        problems.push(`${label}: ${what} has no column '${col}' (lib ${show(libValue)})`);
        continue;
      }
      const empty = got[col] === undefined || got[col] === null ||
        (typeof got[col] === "number" && !Number.isFinite(got[col]));
      if (libValue === undefined) {
        if (empty) notMeasured++;
        else problems.push(`${label} ${col}: ${what} ${show(got[col])}, lib not measured`);
        continue;
      }
      values++;
      const a = asNumber(got[col]);
      const b = asNumber(libValue);
      if (b !== undefined) {
        if (a === undefined) {
          problems.push(`${label} ${col}: ${what} ${show(got[col])}, lib ${show(b)}`);
        } else if (Math.abs(a - b) > Math.max(absolute, tolerance * Math.max(Math.abs(a), Math.abs(b)))) {
          const rel = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
          problems.push(
            `${label} ${col}: ${what} ${show(a)}, lib ${show(b)} (${pct(rel)} apart; ` +
              `tolerance ${pct(tolerance)}${absolute ? ` or ${absolute}` : ""})`,
          );
        }
      } else if (String(got[col]) !== String(libValue)) {
        problems.push(`${label} ${col}: ${what} ${show(got[col])}, lib ${show(libValue)}`);
      }
    }
  }
  if (problems.length) {
    throw new Error(
      `${what} and lib disagree (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n- ` +
        problems.join("\n- ") +
        "\nThe notebook's expression and lib compute the same numbers from the same CSV; a difference means " +
        "one of them filters, groups or takes the statistic differently (or the CSV changed after lib read it).",
    );
  }
  if (lib.length === 0) {
    throw new Error(`Nothing to compare: lib gave no rows for ${what}; pass the rows lib computed.`);
  }
  const unchecked = rows.length - matched.size;
  const head = values === 0
    ? `Nothing measured on either side: lib and ${what} are both empty for all ${notMeasured} value(s)`
    : `Agrees with lib: ${values} value${values === 1 ? "" : "s"} in ${lib.length} row${
      lib.length === 1 ? "" : "s"
    } within ${pct(tolerance)}${absolute ? ` or ${absolute}` : ""}` +
      (notMeasured ? `; ${notMeasured} not measured on either side` : "");
  const text = head +
    (unchecked ? `; ${unchecked} row${unchecked === 1 ? "" : "s"} lib has no number for` : "") + ".";
  return displayable(
    { "text/plain": text, "text/html": `<p>${values ? "✔" : "⚠"} ${escapeHtml(text)}</p>` },
    {
      kind: "agreement" as const,
      rows: lib.length,
      values,
      not_measured: notMeasured,
      unchecked_rows: unchecked,
      text,
    },
  );
}
