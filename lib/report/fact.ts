/**
 * Facts: every number the write-up and the index show, with where it comes from. A fact's `source` names a
 * run-relative file (a CSV, or manifest.json), the column (or JSON path), the rows (`filter`) and the
 * statistic; a derived fact names the facts it is computed from (`of`). `computeFact` evaluates a source on
 * rows; the trace check (trace.ts) evaluates it again, independently, from the file.
 * @module
 */
import { escapeHtml } from "./bundle.ts";
import { mean, percentile } from "../base/stats.ts";

/** A statistic over the filtered rows' column (first group), or a derivation from other facts (second). */
export type FactStat =
  | "p50"
  | "p95"
  | "mean"
  | "max"
  | "min"
  | "count"
  | "value"
  | "argmax"
  | "argmin"
  | "ratio"
  | "difference"
  | "scaled";

/** A filter value: equal to a string or number, or within a numeric range. */
export type FilterValue = string | number | { min?: number; max?: number };

/** Where a fact's value comes from. */
export interface FactSource {
  /** Run-relative path: a CSV, or `manifest.json`. */
  file: string;
  /** The CSV column, or for manifest.json a dotted path (e.g. `host.memory_gib`). Empty for derived facts. */
  column: string;
  /** Rows kept: column -> value (equal as numbers when both are numbers) or range (inclusive). */
  filter?: Record<string, FilterValue>;
  /** The statistic. `value`: the only distinct value of the column in the kept rows. `argmax`/`argmin`: the
   * column's value in the kept row with the largest/smallest `by`. Derived: `ratio` of[0]/of[1],
   * `difference` of[0]-of[1], `scaled` of[0] x factor. */
  stat: FactStat;
  /** For argmax/argmin: the column compared. */
  by?: string;
  /** For derived stats: the ids of the facts used. */
  of?: string[];
  /** For `scaled`: the factor. */
  factor?: number;
  /** Rounding applied last: to an integer up, down, or nearest. */
  round?: "ceil" | "floor" | "round";
}

/** One number shown to the reader. */
export interface Fact {
  /** Unique within a run, snake_case (e.g. `ttft_warm_p50_ms`). */
  id: string;
  /** What it is, in words. */
  label: string;
  value: number;
  /** Unit shown after the value ("ms", "x", "%", "" for none). */
  unit: string;
  source: FactSource;
}

/** A CSV row as read for facts: column -> cell text (empty cells absent or ""). */
export type Row = Record<string, string | undefined>;

/** Derived stats compute from other facts rather than rows. */
export const DERIVED_STATS: ReadonlySet<FactStat> = new Set(["ratio", "difference", "scaled"]);

function asNumber(v: string | number | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** True when the row passes every filter entry. */
export function rowMatches(row: Row, filter: Record<string, FilterValue> | undefined): boolean {
  for (const [col, want] of Object.entries(filter ?? {})) {
    const cell = row[col];
    if (typeof want === "object") {
      const n = asNumber(cell);
      if (
        n === undefined || (want.min !== undefined && n < want.min) ||
        (want.max !== undefined && n > want.max)
      ) {
        return false;
      }
      continue;
    }
    const a = asNumber(cell);
    const b = asNumber(want);
    if (a !== undefined && b !== undefined ? a !== b : (cell ?? "") !== String(want)) return false;
  }
  return true;
}

function rounded(v: number, round: FactSource["round"]): number {
  switch (round) {
    case undefined:
      return v;
    case "ceil":
      return Math.ceil(v);
    case "floor":
      return Math.floor(v);
    case "round":
      return Math.round(v);
  }
}

/**
 * Evaluates a row statistic on rows; undefined when no row (or no number) qualifies, or when `value` finds
 * more than one distinct value.
 *
 * @example
 * ```ts
 * computeStat([{ a: "1" }, { a: "3" }], { file: "x.csv", column: "a", stat: "mean" }); // 2
 * ```
 */
export function computeStat(rows: readonly Row[], src: FactSource): number | undefined {
  const kept = rows.filter((r) => rowMatches(r, src.filter));
  if (src.stat === "count") return kept.length;
  if (src.stat === "argmax" || src.stat === "argmin") {
    if (!src.by) throw new Error(`Fact source ${src.file}:${src.column} uses ${src.stat} without 'by'.`);
    let best: Row | undefined;
    let bestBy = 0;
    for (const r of kept) {
      const b = asNumber(r[src.by]);
      if (b === undefined || asNumber(r[src.column]) === undefined) continue;
      if (!best || (src.stat === "argmax" ? b > bestBy : b < bestBy)) [best, bestBy] = [r, b];
    }
    return best ? rounded(asNumber(best[src.column])!, src.round) : undefined;
  }
  const xs = kept.map((r) => asNumber(r[src.column])).filter((x): x is number => x !== undefined);
  if (xs.length === 0) return undefined;
  let v: number | undefined;
  switch (src.stat) {
    case "p50":
      v = percentile(xs, 50);
      break;
    case "p95":
      v = percentile(xs, 95);
      break;
    case "mean":
      v = mean(xs);
      break;
    case "max":
      v = Math.max(...xs);
      break;
    case "min":
      v = Math.min(...xs);
      break;
    case "value":
      v = new Set(xs).size === 1 ? xs[0] : undefined;
      break;
    default:
      throw new Error(`Fact stat ${src.stat} is derived; compute it with deriveValue.`);
  }
  return v === undefined ? undefined : rounded(v, src.round);
}

/**
 * Evaluates a derived source from the values of the facts it names.
 *
 * @example
 * ```ts
 * deriveValue({ file: "", column: "", stat: "ratio", of: ["a", "b"] }, [6, 2]); // 3
 * ```
 */
export function deriveValue(src: FactSource, inputs: readonly number[]): number | undefined {
  const [a, b] = inputs;
  let v: number | undefined;
  switch (src.stat) {
    case "ratio":
      v = b ? a / b : undefined;
      break;
    case "difference":
      v = a - b;
      break;
    case "scaled":
      v = a * (src.factor ?? 1);
      break;
    default:
      throw new Error(`Fact stat ${src.stat} is not derived.`);
  }
  return v === undefined || !Number.isFinite(v) ? undefined : rounded(v, src.round);
}

function significant(v: number): string {
  const abs = Math.abs(v);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return v.toLocaleString("en-US", {
    maximumFractionDigits: Math.max(digits, abs > 0 && abs < 0.001 ? 6 : 0),
  });
}

/**
 * The fact as shown: the value with thousands separators (integers exact, others to about three significant
 * digits), then the unit ("x" and "%" attached, others after a space).
 *
 * @example
 * ```ts
 * formatFact({ value: 1234.5, unit: "ms" }); // "1,235 ms"
 * ```
 */
export function formatFact(f: Pick<Fact, "value" | "unit">): string {
  const n = f.unit === "%" ? significant(f.value * 100) : significant(f.value);
  if (!f.unit) return n;
  return f.unit === "x" || f.unit === "%" ? `${n}${f.unit}` : `${n} ${f.unit}`;
}

/**
 * The fact as an HTML span the trace check can find: `<span class="fact" data-fact="id">1,234 ms</span>`.
 *
 * @example
 * ```ts
 * factHtml({ id: "a", label: "a", value: 2, unit: "ms", source: { file: "x.csv", column: "a", stat: "max" } });
 * ```
 */
export function factHtml(f: Fact): string {
  return `<span class="fact" data-fact="${escapeHtml(f.id)}" title="${escapeHtml(describeSource(f))}">${
    escapeHtml(formatFact(f))
  }</span>`;
}

/** The source in words, for tooltips and the facts table: "p95 of ttft_ms in ttft.csv where series=warm". */
export function describeSource(f: Fact): string {
  const s = f.source;
  if (DERIVED_STATS.has(s.stat)) return `${f.label}: ${s.stat} of ${(s.of ?? []).join(", ")}`;
  const where = Object.entries(s.filter ?? {}).map(([k, v]) =>
    typeof v === "object" ? `${k} in [${v.min ?? ""}, ${v.max ?? ""}]` : `${k}=${v}`
  );
  const stat = s.by ? `${s.stat} by ${s.by}` : s.stat;
  return `${f.label}: ${stat} of ${s.column} in ${s.file}${where.length ? ` where ${where.join(", ")}` : ""}`;
}
