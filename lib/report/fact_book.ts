/**
 * The fact book: computes, names and collects the facts a page shows from a run's data (its manifest and
 * CSV rows). Which files a run has, and what they hold, is the tiers' business (lib/tiers); this module
 * knows only rows, columns and statistics.
 * @module
 */
import { computeStat, DERIVED_STATS, deriveValue, type Fact, type FactSource, type Row } from "./fact.ts";

/** Whether a tier left data: `measured` (its main CSV has rows), `no_data` (its notebook ran but wrote no
 * rows: failed, or skipped on this engine), `not_run` (neither). */
export type TierStatus = "measured" | "no_data" | "not_run";

/** A run folder's manifest (loosely typed: only what pages show) and CSVs. */
export interface RunData {
  dir: string;
  manifest: Record<string, unknown>;
  /** Run-relative CSV path -> rows; absent when the file does not exist. */
  csv: Map<string, Row[]>;
  /** Each tier's status, by tier key. */
  status: Record<string, TierStatus>;
  /** Files in the run folder (names). */
  files: string[];
}

/** Reads a dotted path from a JSON value. */
export function jsonPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Computes facts from a run's data and keeps them, in the order made. */
export interface FactBook {
  readonly data: RunData;
  readonly facts: Map<string, Fact>;
  /** A fact from rows of a CSV (or a manifest path with stat `value`); undefined when there is no value. */
  add(id: string, label: string, unit: string, source: FactSource): Fact | undefined;
  /** A fact derived from others; undefined when any input is missing. */
  derive(
    id: string,
    label: string,
    unit: string,
    stat: "ratio" | "difference" | "scaled",
    of: (Fact | undefined)[],
    opts?: { factor?: number; round?: FactSource["round"] },
  ): Fact | undefined;
  /** The rows of a CSV, or undefined when the run has no such file. */
  rows(file: string): Row[] | undefined;
}

/**
 * A fact book over a run's data.
 *
 * @example
 * ```ts
 * const book = factBook(await readRunData(dir));
 * book.add("warm_p50", "warm TTFT p50", "ms", { file: "ttft.csv", column: "ttft_ms", filter: { series: "warm" }, stat: "p50" });
 * ```
 */
export function factBook(data: RunData): FactBook {
  const facts = new Map<string, Fact>();
  const keep = (f: Fact) => {
    if (facts.has(f.id)) throw new Error(`Fact id ${f.id} is used twice; give each fact its own id.`);
    facts.set(f.id, f);
    return f;
  };
  return {
    data,
    facts,
    rows: (file) => data.csv.get(file),
    add(id, label, unit, source) {
      let value: number | undefined;
      if (source.file === "manifest.json") {
        const v = jsonPath(data.manifest, source.column);
        value = typeof v === "number" && Number.isFinite(v) ? v : undefined;
      } else {
        const rows = data.csv.get(source.file);
        value = rows ? computeStat(rows, source) : undefined;
      }
      return value === undefined ? undefined : keep({ id, label, value, unit, source });
    },
    derive(id, label, unit, stat, of, opts = {}) {
      if (of.some((f) => f === undefined)) return undefined;
      const source: FactSource = {
        file: "",
        column: "",
        stat,
        of: of.map((f) => f!.id),
        ...(opts.factor !== undefined ? { factor: opts.factor } : {}),
        ...(opts.round ? { round: opts.round } : {}),
      };
      if (!DERIVED_STATS.has(stat)) throw new Error(`derive() takes a derived stat, got ${stat}.`);
      const value = deriveValue(source, of.map((f) => f!.value));
      return value === undefined ? undefined : keep({ id, label, value, unit, source });
    },
  };
}
