/**
 * The day's write-up of a run folder: every fact computed from the tier CSVs, the sections as HTML, and
 * the files written beside them (facts.json, thresholds.json, grafana-dashboard.json).
 * @module
 */
import { join } from "node:path";
import * as Plot from "@observablehq/plot";
import { writeTextAtomic } from "../run/atomic.ts";
import { grafanaDashboard } from "../health/dashboard.ts";
import { thresholdsJson } from "../health/thresholds.ts";
import { type Chart, plot } from "../report/plot.ts";
import {
  explainerSection,
  questionsSection,
  rulesSection,
  serviceConfigSection,
  thresholdsSection,
} from "./advice.ts";
import { type DerivedThresholds, deriveThresholds } from "./derive.ts";
import type { Fact } from "./fact.ts";
import { codeText, h, type Html, htmlTable } from "./html.ts";
import { describeSource } from "./fact.ts";
import { batchingFacts, kvFacts, prefixFacts, ttftFacts } from "./key_facts.ts";
import { type FactBook, factBook, readRunData, type RunData } from "./run_data.ts";
import {
  artifactsSection,
  commandsSection,
  engineText,
  environmentSection,
  isSimulated,
  keyNumbersSection,
  observationsSection,
  type RunFacts,
  simulatedBanner,
} from "./sections.ts";

/** The files the write-up writes into the run folder. */
export const WRITEUP_FILES = ["facts.json", "thresholds.json", "grafana-dashboard.json"] as const;

/** facts.json: every fact of the run. */
export interface FactsFile {
  schema: "servelab.facts/1";
  run_id: string;
  facts: Fact[];
}

/** A run's write-up, computed. */
export interface Writeup {
  data: RunData;
  book: FactBook;
  facts: RunFacts;
  thresholds: DerivedThresholds;
  title: string;
  /** The sections in reading order, for the notebook to show one by one. */
  sections: { id: string; html: Html }[];
  /** A chart of the run (throughput against concurrency, or KV concurrency against max-model-len). */
  chart?: Chart;
}

/** The run's facts without the write-up's sections (what the index page shows). */
export function runFacts(book: FactBook): RunFacts {
  const batching = batchingFacts(book);
  return {
    ttft: ttftFacts(book),
    prefix: prefixFacts(book),
    kv: kvFacts(book, batching.target.concurrency),
    batching,
  };
}

function chartOf(data: RunData): Chart | undefined {
  const sweep = (data.csv.get("concurrency_sweep.csv") ?? []).filter((r) => r.valid === "true")
    .map((r) => ({ concurrency: Number(r.concurrency), throughput_rps: Number(r.throughput_rps) }));
  const label = engineText(data);
  if (sweep.length) {
    return plot({
      title: "Throughput against concurrency (each repeat)",
      subtitle: label,
      x: { type: "log", label: "concurrency" },
      y: { label: "requests/s", zero: true },
      marks: [Plot.dot(sweep, { x: "concurrency", y: "throughput_rps", fill: "currentColor" })],
    });
  }
  const kv = (data.csv.get("kv_cache_scaling.csv") ?? []).filter((r) =>
    r.role === "sweep" && r.started === "true"
  )
    .map((r) => ({ max_model_len: Number(r.max_model_len), max_concurrency: Number(r.max_concurrency) }));
  if (kv.length) {
    return plot({
      title: "Max concurrency against max-model-len",
      subtitle: label,
      x: { type: "log", label: "max-model-len (tokens)" },
      y: { type: "log", label: "full-length requests at once" },
      marks: [
        Plot.line(kv, { x: "max_model_len", y: "max_concurrency" }),
        Plot.dot(kv, { x: "max_model_len", y: "max_concurrency" }),
      ],
    });
  }
  return undefined;
}

/**
 * Computes the write-up of a run folder from its manifest and CSVs (it reads nothing else).
 *
 * @example
 * ```ts
 * const w = await buildWriteup(run.dir);
 * for (const s of w.sections) await show(htmlOutput(s.html));
 * ```
 */
export async function buildWriteup(dir: string): Promise<Writeup> {
  const data = await readRunData(dir);
  const book = factBook(data);
  const facts = runFacts(book);
  const sim = isSimulated(data);
  const model = typeof data.manifest.model === "string" ? data.manifest.model : "each tier's default model";
  const thresholds = deriveThresholds(book, facts.batching, {
    run_id: String(data.manifest.run_id ?? ""),
    engine_label: engineText(data),
    simulated: sim,
    model,
  });
  const title = `Write-up: ${model} on ${String((data.manifest.engine as { kind?: string })?.kind ?? "?")}${
    sim ? " (SIMULATED)" : ""
  }`;
  const sections = [
    { id: "title", html: h`<h1>${title}</h1>${simulatedBanner(data)}` },
    { id: "environment", html: environmentSection(book) },
    { id: "commands", html: commandsSection(data) },
    { id: "key_numbers", html: keyNumbersSection(data, facts) },
    { id: "artifacts", html: artifactsSection(data, [...WRITEUP_FILES, "05_writeup.html"]) },
    { id: "observations", html: observationsSection(data, facts) },
    { id: "explainer", html: explainerSection(facts) },
    { id: "service_config", html: serviceConfigSection(data, facts) },
    { id: "rules", html: rulesSection(facts) },
    { id: "thresholds", html: thresholdsSection(thresholds) },
    { id: "questions", html: questionsSection(facts) },
  ];
  // Last, so it lists every fact the sections above made.
  sections.push({
    id: "facts",
    html: h`<h2 id="wu-facts">Where each number comes from</h2><p>Every fact of this write-up, as in ${
      codeText("facts.json")
    }: its value and the file, column, rows and statistic it is computed from.</p>${
      htmlTable(
        ["fact", "value", "source"],
        [...book.facts.values()].map((f) => [codeText(f.id), f, codeText(describeSource(f))]),
      )
    }`,
  });
  return { data, book, facts, thresholds, title, sections, chart: chartOf(data) };
}

/**
 * The facts file's content.
 *
 * @example
 * ```ts
 * JSON.parse(factsJson(book)).facts.length;
 * ```
 */
export function factsJson(book: FactBook): string {
  const file: FactsFile = {
    schema: "servelab.facts/1",
    run_id: String(book.data.manifest.run_id ?? ""),
    facts: [...book.facts.values()],
  };
  return JSON.stringify(file, null, 2) + "\n";
}

/**
 * Writes facts.json, thresholds.json and grafana-dashboard.json into the run folder; returns their paths.
 *
 * @example
 * ```ts
 * await writeWriteupFiles(await buildWriteup(run.dir));
 * ```
 */
export async function writeWriteupFiles(w: Writeup): Promise<string[]> {
  const dir = w.data.dir;
  const out = [join(dir, "facts.json"), join(dir, "thresholds.json"), join(dir, "grafana-dashboard.json")];
  await writeTextAtomic(out[0], factsJson(w.book));
  await writeTextAtomic(out[1], thresholdsJson(w.thresholds.thresholds));
  await writeTextAtomic(out[2], JSON.stringify(grafanaDashboard(w.thresholds.thresholds), null, 2) + "\n");
  return out;
}
