/**
 * Tier 3a, KV cache against max-model-len, as one unit: its files, parameters, measurement, reader, facts,
 * key numbers, chart and compare points (the contract: lib/tiers/tier.ts).
 * @module
 */
import { join } from "node:path";
import * as Plot from "@observablehq/plot";
import { plot } from "../../report/plot.ts";
import { readCsv } from "../../run/csv.ts";
import type { Fact } from "../../report/fact.ts";
import { kvQuestions } from "./questions.ts";
import { type Tier, tierFile } from "../tier.ts";
import { type KvFacts, kvFacts } from "./facts.ts";
import { KV_LOAD_FILES } from "./load.ts";
import { KV_SCALING_FILE, type KvMeasurement, measureKv } from "./measure.ts";
import { type KvParams, kvParams } from "./params.ts";
import { KvLoadRow, KvLoadSample, KvRow } from "./rows.ts";
import { KV_NOTES_FILE } from "./writeup.ts";
import { KV_COMPARE_POINTS, kvCompare, kvCompareCurves } from "./compare.ts";

/** What {@link kvTier}'s reader returns: the sweep rows and, when the load confirmation ran, its rows. */
export interface KvResults {
  rows: KvRow[];
  load: KvLoadRow[];
  samples: KvLoadSample[];
}

async function readIfThere<T>(path: string, read: (p: string) => Promise<T[]>): Promise<T[]> {
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return await read(path);
}

/** Tier 3a. */
export const kvTier = {
  key: "kv" as const,
  number: "3a",
  title: "KV cache vs max-model-len",
  notebook: "03_kv_scaling",
  files: [
    tierFile(
      KV_SCALING_FILE,
      KvRow,
      "one engine start: a max-model-len (and utilization), its KV pool or fit error",
    ),
    tierFile(
      KV_LOAD_FILES.rows,
      KvLoadRow,
      "one step of the load confirmation: concurrency, waiting, preemptions",
    ),
    tierFile(KV_LOAD_FILES.samples, KvLoadSample, "one /metrics sample during the load confirmation"),
  ],
  writeup: KV_NOTES_FILE,
  artifacts: [KV_SCALING_FILE, KV_NOTES_FILE],
  after: ["batching"],
  params: (lab, env) => kvParams(lab, env),
  measure: (run, lab, params) => measureKv(run, lab, params),
  read: async (dir) => ({
    rows: await readCsv(join(dir, KV_SCALING_FILE), KvRow),
    load: await readIfThere(join(dir, KV_LOAD_FILES.rows), (p) => readCsv(p, KvLoadRow)),
    samples: await readIfThere(join(dir, KV_LOAD_FILES.samples), (p) => readCsv(p, KvLoadSample)),
  }),
  // The largest safe max-model-len is the one that still holds the batching tier's concurrency target.
  facts: (book, done) =>
    kvFacts(book, (done.batching as { target?: { concurrency?: Fact } } | undefined)?.target?.concurrency),
  keyNumbers: (f) => [
    {
      label: "largest max-model-len holding the target",
      fact: f.safe_len,
      index: "largest max-model-len holding the target",
    },
    { label: "KV bytes per token, computed (model config)", fact: f.bytes_computed },
    { label: "KV bytes per token, measured (KV memory / pool)", fact: f.bytes_measured },
  ],
  keyTables: (f) => [{
    title: "KV cache against max-model-len",
    columns: [
      "max-model-len",
      "KV pool",
      "max concurrency (full-length requests)",
      "KV cache memory (VRAM reserved for KV)",
      "GPU memory used",
    ],
    rows: f.rows.map((r) => [r.max_model_len, r.kv_tokens, r.max_concurrency, r.kv_gib, r.gpu_mem_gib]),
  }],
  indexChart: (data, subtitle) => {
    const kv = (data.csv.get(KV_SCALING_FILE) ?? []).filter((r) => r.role === "sweep" && r.started === "true")
      .map((r) => ({ max_model_len: Number(r.max_model_len), max_concurrency: Number(r.max_concurrency) }));
    if (!kv.length) return undefined;
    return plot({
      title: "Max concurrency against max-model-len",
      subtitle,
      x: { type: "log", label: "max-model-len (tokens)" },
      y: { type: "log", label: "full-length requests at once" },
      marks: [
        Plot.line(kv, { x: "max_model_len", y: "max_concurrency" }),
        Plot.dot(kv, { x: "max_model_len", y: "max_concurrency" }),
      ],
    });
  },
  comparePoints: KV_COMPARE_POINTS,
  compare: kvCompare,
  compareCurves: kvCompareCurves,
  besideGap: "what it measures is the engine's own memory plan (the KV pool it reports for each " +
    "--max-model-len, the fit check) and how many requests run together on a small pool; the predictions " +
    "beside those numbers on this page (predicted blocks, predicted max concurrent) already come from the " +
    "embedded engine's planner (lib/sim fitsConcurrent), so a replay would repeat them",
  questions: (f, all) => kvQuestions(f, all),
} satisfies Tier<KvFacts, KvParams, KvMeasurement, KvResults>;
