/**
 * The tier contract: one shape every tier implements, so the write-up, the run index, compare and the
 * health thresholds loop over the list of tiers (lib/tiers/mod.ts `TIERS`) and never name a tier's CSV or
 * column themselves. A tier lives in one folder, `lib/tiers/<key>/`, and its `tier.ts` is its definition:
 *
 * - who it is: `key` (the one name used in files, `--tiers`, pages), `number`, `title`, `notebook`;
 * - what it writes: `files`, each with one zod row schema from which its column list is derived;
 * - how it runs: `params` (from size and environment, through lib/tiers/params.ts), `measure`, `read`;
 * - what it tells: `facts` (every number the write-up and index show, each traced to its CSV),
 *   `keyNumbers` (the rows of the key-numbers tables), `indexChart`, `health` (what the health
 *   thresholds take from it), `comparePoints` and `compare` (what `./servelab compare` checks and shows).
 *
 * @example
 * ```ts
 * import { TIERS } from "./mod.ts";
 * for (const t of TIERS) console.log(t.number, t.key, t.files.map((f) => f.name));
 * ```
 * @module
 */
import type { z } from "zod";
import type { Fact } from "../report/fact.ts";
import type { Html } from "../report/html.ts";
import type { FactBook, RunData } from "../report/fact_book.ts";
import type { Chart } from "../report/plot.ts";
import type { CheckId } from "../health/thresholds.ts";
import type { Run } from "../run/run_dir.ts";
import type { LabEnv } from "./lab_env.ts";
import type { BesideOptions, BesideRow, ValidationRow } from "../sim/mod.ts";

/** A zod object schema of one CSV row. */
// deno-lint-ignore no-explicit-any
export type RowSchema = z.ZodObject<any>;

/** One CSV a tier writes: its name in the run folder, its row schema, and its columns (the schema's keys, in
 * order: the header row). */
export interface TierFile<S extends RowSchema = RowSchema> {
  /** File name in the run folder, e.g. `ttft.csv`. */
  readonly name: string;
  /** One row, as written and read back. */
  readonly schema: S;
  /** The header row: the schema's keys in order (never written twice). */
  readonly columns: readonly string[];
  /** What a row is, in words. */
  readonly about: string;
}

/**
 * A tier output file from its row schema; the columns are the schema's keys.
 *
 * @example
 * ```ts
 * const f = tierFile("toy.csv", z.object({ point_id: z.string(), value_ms: z.number() }), "one point");
 * f.columns; // ["point_id", "value_ms"]
 * ```
 */
export function tierFile<S extends RowSchema>(name: string, schema: S, about: string): TierFile<S> {
  if (!/^[a-z0-9_]+\.csv$/.test(name)) {
    throw new Error(
      `Tier file name '${name}' is not valid: use snake_case ending in .csv, e.g. latency_sweep.csv.`,
    );
  }
  return { name, schema, columns: Object.keys(schema.shape), about };
}

/** One row of a key-numbers table: a label and the fact (undefined shows "not measured"). `index`: also on
 * the run's index page, under this label (the write-up's label may lean on the row above it). */
export interface KeyNumber {
  label: string;
  fact: Fact | undefined;
  index?: string;
}

/** A table of facts in the write-up's key numbers (e.g. the KV pool per max-model-len). */
export interface KeyTable {
  title: string;
  columns: string[];
  rows: (Fact | undefined)[][];
}

/** One CSV row as csv-parse gives it (compare reads raw rows). */
export type CsvTextRow = Record<string, string>;

/** How a tier CSV's rows form points, and which columns are the point's workload (compare's check). */
export interface PointSpec {
  /** The tier's title for messages, e.g. "Tier 3b". */
  tier: string;
  file: string;
  /** Columns that identify a point (joined with "|"). */
  key: readonly string[];
  /** Workload columns: their distinct values per point must match. Results are never listed here. */
  params: readonly string[];
  /** Rows counted as the point's requests (its `requests` parameter); absent: no count. */
  counts?: (r: CsvTextRow) => boolean;
  /** Take parameters from successful rows only (server-reported columns a failed request leaves empty). */
  ok_rows_only?: boolean;
  /** Only checked: compare reads no metric from this file, so its points are not filtered or listed. */
  check_only?: boolean;
}

/**
 * One metric a tier asks compare to show for two runs; compare applies the test:
 * `sample` a bootstrap CI of the difference of the `p` quantile of per-request values; `repeats` whether
 * the ranges of per-repeat values overlap; `exact` a plain comparison of two single values.
 */
export type CompareMetric =
  | { kind: "sample"; metric: string; a: number[]; b: number[]; p: number }
  | { kind: "repeats"; metric: string; a: number[]; b: number[] }
  | { kind: "exact"; metric: string; a?: number; b?: number };

/** The rows of one file in both runs (only the points both measured), or undefined when a run lacks it. */
export type CompareRows = (file: string) => readonly [CsvTextRow[], CsvTextRow[]] | undefined;

/** One point of a compare curve: where it sits (`x`, and `series` when a tier draws several lines), the
 * value drawn (`y`) and the values it summarises (per request or per repeat) for the noise test. */
export interface CurvePoint {
  x: number | string;
  y: number;
  series?: string;
  values?: number[];
}

/**
 * One chart of `./servelab compare`'s page: every run's points of it overlaid. `test` says how a point of a
 * run is checked against the same point of the first run: `sample` a bootstrap CI of the difference of the
 * medians of `values`, `repeats` whether the ranges of `values` overlap, `exact` a plain comparison of `y`.
 */
export interface CompareCurve {
  /** Unique within the tier, e.g. "ttft_by_length". */
  id: string;
  title: string;
  x: { label: string; log?: boolean };
  y: { label: string };
  test: "sample" | "repeats" | "exact";
  points: CurvePoint[];
}

/** The rows of one file of one run, or undefined when the run lacks it. */
export type RunRows = (file: string) => CsvTextRow[] | undefined;

/** What a tier contributes to the health thresholds: the canary's workload and checks' threshold facts. */
export interface HealthContribution {
  canary?: { concurrency?: Fact; prompt_tokens?: Fact; max_tokens?: Fact; requests?: Fact };
  checks?: Partial<Record<CheckId, { fact?: Fact; why: string }>>;
}

/**
 * A tier. `F` its facts, `P` its parameters, `M` what `measure` returns, `R` what `read` returns.
 */
export interface Tier<F = unknown, P = unknown, M = unknown, R = unknown> {
  /** The one name of the tier, snake_case: files (`points/<key>/`), `--tiers`, pages, facts (`facts.<key>`). */
  readonly key: string;
  /** Its number in the day's plan: "1", "2", "3a", "3b". */
  readonly number: string;
  /** Its title, e.g. "Time to first token". */
  readonly title: string;
  /** Its notebook's name without extension, e.g. "01_ttft". */
  readonly notebook: string;
  /** The CSVs it writes; the first is its main one (rows there mean the tier measured). */
  readonly files: readonly [TierFile, ...TierFile[]];
  /** Its markdown write-up's file name, e.g. "first_token_latency.md". */
  readonly writeup?: string;
  /** The files the seed's Logging Template lists for this tier under "Artifacts Created/Updated", in its
   * order (undefined: its `writeup`). */
  readonly artifacts?: readonly string[];
  /** Keys of tiers whose facts `facts` reads (computed first). */
  readonly after?: readonly string[];
  /** Its parameters from the lab's size and the environment (`SERVELAB_<KEY>_*`); throws naming the
   * variable and the fix. */
  params(lab: LabEnv, env?: Record<string, string | undefined>): P;
  /** Runs the tier into the run folder. */
  measure(run: Run, lab: LabEnv, params: P): Promise<M>;
  /** Reads its results back from a run folder. */
  read(dir: string): Promise<R>;
  /** Its facts from a run's data; `done` holds the facts of the tiers named in `after`. */
  facts(book: FactBook, done: Readonly<Record<string, unknown>>): F;
  /** The key-numbers rows of its facts, in reading order. */
  keyNumbers(facts: F): KeyNumber[];
  /** Tables of facts shown after the key numbers (undefined: none). */
  keyTables?(facts: F): KeyTable[];
  /** The tier's chart of the whole run (write-up), undefined when it has no data for it. */
  indexChart?(data: RunData, subtitle: string): Chart | undefined;
  /** What the health thresholds take from this tier. */
  health?(book: FactBook, facts: F): HealthContribution;
  /** How compare checks that two runs measured the same points. */
  readonly comparePoints: readonly PointSpec[];
  /** What compare shows for two runs. */
  compare(rows: CompareRows): CompareMetric[];
  /** The tier's curves of one run for compare's page (several runs overlaid); none: no chart there. */
  compareCurves?(rows: RunRows): CompareCurve[];
  /** What the embedded engine predicts beside a kept run's points of this tier (SIMULATED), when the tier
   * can be replayed; [] when the run has no such points. */
  beside?(dir: string, o: BesideOptions): BesideRow[];
  /** Without `beside`: why the embedded engine does not replay this tier's points (said on its page). */
  readonly besideGap?: string;
  /** A kept run's points of this tier as held-out validation rows of the embedded engine's profile. */
  keptRows?(dir: string, runId: string, profile: string, model: string): ValidationRow[];
  /** Its answers to the seed's learning questions of its tier, from its facts (`all`: every tier's). */
  questions?(facts: F, all: Readonly<Record<string, unknown>>): SeedAnswer[];
}

/** A tier's answer to one of the seed's 20 learning questions (lib/writeup/questions.ts has their text),
 * drawn from this run's facts; where the answer needs judgment it says what would change it. */
export interface SeedAnswer {
  /** The question's number in the seed (1-20). */
  n: number;
  answer: Html;
}

/** Any tier. */
// deno-lint-ignore no-explicit-any
export type AnyTier = Tier<any, any, any, any>;

/** The facts type of a tier. */
// deno-lint-ignore no-explicit-any
export type FactsOf<T> = T extends Tier<infer F, any, any, any> ? F : never;

/**
 * Computes every tier's facts in an order that honours `after`; returns them by tier key.
 *
 * @example
 * ```ts
 * const facts = tierFacts(TIERS, factBook(await readRunData(dir)));
 * ```
 */
export function tierFacts(tiers: readonly AnyTier[], book: FactBook): Record<string, unknown> {
  const done: Record<string, unknown> = {};
  const left = [...tiers];
  while (left.length) {
    const i = left.findIndex((t) =>
      (t.after ?? []).every((k) => k in done || !tiers.some((x) => x.key === k))
    );
    if (i < 0) {
      throw new Error(
        `Tiers ${left.map((t) => t.key).join(", ")} wait on each other's facts (after); break the cycle.`,
      );
    }
    const [t] = left.splice(i, 1);
    done[t.key] = t.facts(book, done);
  }
  // In the tiers' order, whatever order they were computed in.
  return Object.fromEntries(tiers.map((t) => [t.key, done[t.key]]));
}

/**
 * Checks a list of tiers: keys unique and snake_case, file names unique across tiers.
 *
 * @example
 * ```ts
 * checkTiers(TIERS); // throws on a duplicate key or file
 * ```
 */
export function checkTiers(tiers: readonly AnyTier[]): void {
  const keys = new Set<string>();
  const files = new Map<string, string>();
  for (const t of tiers) {
    if (!/^[a-z][a-z0-9_]*$/.test(t.key)) throw new Error(`Tier key '${t.key}' is not snake_case.`);
    if (keys.has(t.key)) throw new Error(`Tier key '${t.key}' is used twice; give each tier its own key.`);
    keys.add(t.key);
    for (const f of t.files) {
      const other = files.get(f.name);
      if (other) {
        throw new Error(`File ${f.name} is written by tiers ${other} and ${t.key}; one file, one tier.`);
      }
      files.set(f.name, t.key);
    }
  }
}
