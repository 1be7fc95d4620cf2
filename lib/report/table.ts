/**
 * Tables for notebooks: a nodejs-polars DataFrame or an array of row objects, shown as an HTML table
 * with a text fallback. UInt64 columns (which polars hands out as BigInt, and which make the kernel
 * show nothing) are cast to Int64 first; BigInt values in rows become numbers.
 * @module
 */
import pl from "nodejs-polars";
import { $display, type Displayable, escapeHtml, type MediaBundle } from "./bundle.ts";

/** A nodejs-polars DataFrame, recognised by shape (the package's class is not exported as a value). */
export type DataFrame = pl.DataFrame;

/** True when `x` looks like a nodejs-polars DataFrame. */
export function isDataFrame(x: unknown): x is DataFrame {
  const d = x as DataFrame;
  return typeof x === "object" && x !== null && Array.isArray(d.columns) && Array.isArray(d.dtypes) &&
    typeof d.getColumns === "function" && typeof d.withColumns === "function";
}

const BIGINT_TYPES = new Set(["UInt64", "Int128", "UInt128"]);

/**
 * Casts every UInt64 (and 128-bit) column to Int64 so the frame can be displayed and serialised.
 *
 * @example
 * ```ts
 * displaySafe(pl.DataFrame({ n: [1n, 2n] })).dtypes.map(String); // ["DataType(Int64)"]
 * ```
 */
export function displaySafe(df: DataFrame): DataFrame {
  const casts = df.columns
    .filter((_, i) => BIGINT_TYPES.has(String((df.dtypes[i] as unknown as { variant: string }).variant)))
    .map((c) => pl.col(c).cast(pl.Int64, false));
  return casts.length ? df.withColumns(...casts) : df;
}

type Cell = string | number | boolean | bigint | Date | null | undefined;

function cellText(v: Cell | unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? String(Number(v)) : String(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (v instanceof Date) return v.toISOString();
  return typeof v === "object"
    ? JSON.stringify(v, (_k, x) => typeof x === "bigint" ? String(x) : x)
    : String(v);
}

/** Options for {@link table}. */
export interface TableOptions {
  /** Rows shown at most (the rest are counted in a note). Default 50. */
  maxRows?: number;
  /** Columns to show, in order. Default: the frame's columns, or the keys of the rows in first-seen order. */
  columns?: readonly string[];
  /** A caption above the table (escaped). */
  caption?: string;
  /** Columns shown at most when `columns` is not given: the rest are named in a note, which links `csv`.
   * Default 10, so a table fits the page. */
  maxColumns?: number;
  /** The full table as a CSV file (a link relative to the page, e.g. "kv_cache_scaling.csv"), named under
   * the table. */
  csv?: string;
  /** Text cells longer than this show cut, with the full text on hover. Default 48. */
  maxCellChars?: number;
}

/** Units by column-name suffix, shown in the header: `ttft_p50_ms` reads "ttft_p50 (ms)". */
const UNITS: [RegExp, string][] = [
  [/_tok_s$/, "tok/s"],
  [/_rps$/, "req/s"],
  [/_ms$/, "ms"],
  [/_s$/, "s"],
  [/_pct$/, "%"],
  [/_gib$/, "GiB"],
  [/_mib$/, "MiB"],
  [/_bytes$/, "bytes"],
  [/_tokens$/, "tokens"],
];

/**
 * A column's header with its unit in words, from the name's suffix; the name itself when it has none.
 *
 * @example
 * ```ts
 * headerText("ttft_p50_ms"); // "ttft_p50 (ms)"
 * headerText("prompt_tokens"); // "prompt (tokens)"
 * ```
 */
export function headerText(column: string): string {
  for (const [re, unit] of UNITS) {
    if (re.test(column)) {
      const base = column.replace(re, "");
      return base ? `${base} (${unit})` : column;
    }
  }
  return column;
}

/** A displayable table; `rows` holds what is shown. */
export interface Table extends Displayable {
  readonly kind: "table";
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
  readonly total_rows: number;
}

function textTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const cells = [columns.slice(), ...rows.map((r) => columns.map((c) => cellText(r[c])))];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((s, j) => s.padEnd(widths[j])).join("  ").trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

/**
 * A table from a DataFrame or row objects, with HTML (escaped cells) and text renderings.
 *
 * @example
 * ```ts
 * await show(table(summary, { caption: "TTFT by concurrency" }));
 * await show(table([{ concurrency: 1, ttft_p50_ms: 41.2 }]));
 * ```
 */
export function table(
  input: DataFrame | readonly Record<string, unknown>[],
  options: TableOptions = {},
): Table {
  const { maxRows = 50, caption } = options;
  const fit = { ...options };
  let all: Record<string, unknown>[];
  let columns: string[];
  if (isDataFrame(input)) {
    const df = displaySafe(input);
    columns = options.columns ? [...options.columns] : df.columns;
    all = df.head(maxRows).toRecords() as Record<string, unknown>[];
    return build(columns, all, input.height, maxRows, caption, fit);
  }
  if (!Array.isArray(input)) {
    throw new Error(`table() needs a polars DataFrame or an array of row objects, got ${typeof input}.`);
  }
  all = input as Record<string, unknown>[];
  columns = options.columns ? [...options.columns] : [...new Set(all.flatMap((r) => Object.keys(r)))];
  return build(columns, all.slice(0, maxRows), all.length, maxRows, caption, fit);
}

function build(
  all: string[],
  rows: Record<string, unknown>[],
  total: number,
  maxRows: number,
  caption: string | undefined,
  fit: TableOptions,
): Table {
  // A readable subset of columns: the caller's choice, else the first `maxColumns`; the rest named.
  const maxColumns = fit.columns ? Infinity : fit.maxColumns ?? 10;
  const columns = all.slice(0, maxColumns);
  const hidden = all.slice(columns.length);
  const maxChars = fit.maxCellChars ?? 48;
  const shown = rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c]])));
  const more = total > maxRows ? `${total - maxRows} more rows not shown (${total} in all)` : undefined;
  const numeric = columns.map((c) => shown.every((r) => r[c] == null || typeof r[c] === "number"));
  // Numbers right, text left (one line), headers with their column: JupyterLab's CSS right-aligns every cell.
  const align = (j: number) => ` style="text-align:${numeric[j] ? "right" : "left;white-space:nowrap"}"`;
  const td = (v: unknown, j: number) => {
    const text = cellText(v);
    if (text.length <= maxChars) return `<td${align(j)}>${escapeHtml(text)}</td>`;
    // Long text cut, the whole of it on hover.
    return `<td${align(j)} title="${escapeHtml(text)}">${escapeHtml(text.slice(0, maxChars - 1))}…</td>`;
  };
  const th = (c: string, j: number) => {
    const label = headerText(c);
    return `<th${align(j)}${label !== c ? ` title="${escapeHtml(c)}"` : ""}>${escapeHtml(label)}</th>`;
  };
  const hiddenNote = hidden.length
    ? `${hidden.length} more column${hidden.length > 1 ? "s" : ""} not shown: ${hidden.join(", ")}`
    : undefined;
  const csvNote = fit.csv
    ? `<p><em>${hidden.length ? `${escapeHtml(hiddenNote!)}; the` : "The"} full table: <a href="${
      escapeHtml(encodeURI(fit.csv))
    }">${escapeHtml(fit.csv)}</a></em></p>`
    : hiddenNote
    ? `<p><em>${escapeHtml(hiddenNote)}</em></p>`
    : "";
  const html = [
    `<div style="max-width:100%;overflow-x:auto"><table>`,
    caption ? `<caption>${escapeHtml(caption)}</caption>` : "",
    `<thead><tr>${columns.map(th).join("")}</tr></thead>`,
    "<tbody>",
    ...shown.map((r) => `<tr>${columns.map((c, j) => td(r[c], j)).join("")}</tr>`),
    "</tbody></table></div>",
    more ? `<p><em>${escapeHtml(more)}</em></p>` : "",
    csvNote,
  ].join("");
  const plain = [
    caption,
    textTable(columns, shown),
    more,
    hiddenNote,
    fit.csv ? `full table: ${fit.csv}` : undefined,
  ]
    .filter(Boolean).join("\n");
  const bundle: MediaBundle = { "text/html": html, "text/plain": plain };
  return { kind: "table", columns, rows: shown, total_rows: total, [$display]: () => bundle };
}
