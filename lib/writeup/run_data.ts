/**
 * A run folder's data as the write-up reads it: the manifest and each tier's CSVs (absent when the tier
 * did not write them), and the fact book that computes, names and collects the facts shown to the reader.
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { readCsv } from "../run/csv.ts";
import { computeStat, DERIVED_STATS, deriveValue, type Fact, type FactSource, type Row } from "./fact.ts";

/** The tiers the write-up reads, their notebook and the CSVs it needs (the first is the tier's main one). */
export const WRITEUP_TIERS = [
  { key: "ttft", name: "Time to first token", notebook: "01_ttft", files: ["ttft.csv", "startup.csv"] },
  {
    key: "prefix",
    name: "Prefix caching",
    notebook: "02_prefix_caching",
    files: ["prefix_cache.csv", "prefix_cache_runs.csv"],
  },
  {
    key: "kv",
    name: "KV cache vs max-model-len",
    notebook: "03_kv_scaling",
    files: ["kv_cache_scaling.csv", "kv_load_confirmation.csv"],
  },
  {
    key: "batching",
    name: "Batching under concurrency",
    notebook: "04_batching",
    files: ["concurrency_sweep.csv", "batching_requests.csv"],
  },
] as const;

/** One tier's key. */
export type WriteupTierKey = typeof WRITEUP_TIERS[number]["key"];

/** Whether a tier left data: `measured` (its main CSV has rows), `no_data` (its notebook ran but wrote no
 * rows: failed, or skipped on this engine), `not_run` (neither). */
export type TierStatus = "measured" | "no_data" | "not_run";

/** The run folder's manifest (loosely typed: only what the write-up shows) and CSVs. */
export interface RunData {
  dir: string;
  manifest: Record<string, unknown>;
  /** Run-relative CSV path -> rows; absent when the file does not exist. */
  csv: Map<string, Row[]>;
  /** Each tier's status. */
  status: Record<WriteupTierKey, TierStatus>;
  /** Files in the run folder (names). */
  files: string[];
}

const AnyRow = z.record(z.string(), z.string().optional());

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Reads a run folder: manifest.json (required) and every CSV of {@link WRITEUP_TIERS} that exists.
 *
 * @example
 * ```ts
 * const data = await readRunData("reports/20261128-055714-sim-1e89");
 * data.status.ttft; // "measured"
 * ```
 */
export async function readRunData(dir: string): Promise<RunData> {
  const mpath = join(dir, "manifest.json");
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await Deno.readTextFile(mpath));
  } catch (e) {
    throw new Error(
      `Cannot read the run's manifest ${mpath}: ${(e as Error).message}. ` +
        "Point SERVELAB_RUN_DIR at a run folder written by ./servelab run.",
    );
  }
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(e.name);
  files.sort();
  const csv = new Map<string, Row[]>();
  const status = {} as Record<WriteupTierKey, TierStatus>;
  for (const t of WRITEUP_TIERS) {
    for (const f of t.files) {
      if (await exists(join(dir, f))) csv.set(f, await readCsv(join(dir, f), AnyRow) as Row[]);
    }
    const main = csv.get(t.files[0]);
    status[t.key] = main && main.length > 0
      ? "measured"
      : files.includes(`${t.notebook}.ipynb`) || files.includes(`${t.notebook}.html`)
      ? "no_data"
      : "not_run";
  }
  return { dir, manifest, csv, status, files };
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
