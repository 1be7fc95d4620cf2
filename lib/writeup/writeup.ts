/**
 * The day's write-up of a run folder: every fact computed from the tier CSVs, the sections as HTML, and
 * the files written beside them (facts.json, thresholds.json, grafana-dashboard.json).
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "../run/atomic.ts";
import { grafanaDashboard } from "../health/dashboard.ts";
import { thresholdsJson } from "../health/thresholds.ts";
import type { Chart } from "../report/plot.ts";
import { TIERS } from "../tiers/mod.ts";
import { type AnyTier, tierFacts } from "../tiers/tier.ts";
import { rulesSection, serviceConfigSection, thresholdsSection } from "./advice.ts";
import { feynmanSection, questionsTemplate, writeupAnswers } from "./day_advice.ts";
import {
  artifactsTemplate,
  commandsTemplate,
  dayTitle,
  environmentTemplate,
  keyNumbersTemplate,
  observationsTemplate,
} from "./day_template.ts";
import { htmlToMarkdown } from "./markdown_page.ts";
import { checklistHtml } from "./checklist.ts";
import { type DerivedThresholds, deriveThresholds } from "./derive.ts";
import type { Fact } from "../report/fact.ts";
import { codeText, h, type Html, htmlTable } from "../report/html.ts";
import { describeSource } from "../report/fact.ts";
import { outcomeSection } from "./outcome_section.ts";
import { type FactBook, factBook, readRunData, type RunData } from "./run_data.ts";
import { engineText, isSimulated, type RunFacts, simulatedBanner } from "./sections.ts";

/** The files the write-up writes into the run folder. */
export const WRITEUP_FILES = [
  "facts.json",
  "thresholds.json",
  "grafana-dashboard.json",
  "day_writeup.md",
  "new_node_checklist.md",
] as const;

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
  /** new_node_checklist.md's content (the seed's checklist ticked from this run). */
  checklist: Html;
  /** A chart of the run (throughput against concurrency, or KV concurrency against max-model-len). */
  chart?: Chart;
}

/** The run's facts without the write-up's sections (what the index page shows), by tier key. */
export function runFacts(book: FactBook, tiers: readonly AnyTier[] = TIERS): RunFacts {
  return tierFacts(tiers, book) as RunFacts;
}

// The run's chart: the last tier's (in the day's order) that has data for one.
function chartOf(data: RunData, tiers: readonly AnyTier[]): Chart | undefined {
  const label = engineText(data);
  for (const t of [...tiers].reverse()) {
    const c = t.indexChart?.(data, label);
    if (c) return c;
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
export async function buildWriteup(dir: string, tiers: readonly AnyTier[] = TIERS): Promise<Writeup> {
  const data = await readRunData(dir, tiers);
  const book = factBook(data);
  const facts = runFacts(book, tiers);
  const sim = isSimulated(data);
  const model = typeof data.manifest.model === "string" ? data.manifest.model : "each tier's default model";
  const thresholds = deriveThresholds(tiers, book, facts, {
    run_id: String(data.manifest.run_id ?? ""),
    engine_label: engineText(data),
    simulated: sim,
    model,
  });
  const title = `Write-up: ${model} on ${String((data.manifest.engine as { kind?: string })?.kind ?? "?")}${
    sim ? " (SIMULATED)" : ""
  }`;
  // The seed's Logging Template first (its headings word for word, in order), then the Feynman section, the
  // service config, rules of thumb, thresholds and the seed's 20 questions.
  const sections = [
    { id: "title", html: h`${dayTitle(data)}${simulatedBanner(data)}` },
    // Issue 20: each tier's outcome and first failure, on the page.
    { id: "outcome", html: await outcomeSection(dir, tiers) },
    { id: "environment", html: environmentTemplate(book) },
    { id: "commands", html: commandsTemplate(data, tiers) },
    { id: "key_numbers", html: keyNumbersTemplate(data, facts, tiers) },
    { id: "artifacts", html: artifactsTemplate(data, [...WRITEUP_FILES, "05_writeup.html"], tiers) },
    { id: "observations", html: observationsTemplate(data, facts, tiers) },
    { id: "explainer", html: feynmanSection(data, facts, thresholds) },
    { id: "service_config", html: serviceConfigSection(data, facts) },
    { id: "rules", html: rulesSection(facts) },
    { id: "thresholds", html: thresholdsSection(thresholds) },
    { id: "questions", html: questionsTemplate(tiers, facts, writeupAnswers(data, facts, thresholds)) },
  ];
  const checklist = checklistHtml(book, facts, tiers);
  // Last, so it lists every fact the sections above (and the checklist) made.
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
  return { data, book, facts, thresholds, title, sections, checklist, chart: chartOf(data, tiers) };
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
 * day_writeup.md: the same sections as 05's HTML, as Markdown (facts stay inline spans the trace reads).
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("day_writeup.md", dayWriteupMarkdown(await buildWriteup(dir)));
 * ```
 */
export function dayWriteupMarkdown(w: Writeup): string {
  return htmlToMarkdown(w.sections.map((s) => s.html.html).join("\n"));
}

/**
 * Writes facts.json, thresholds.json, grafana-dashboard.json, day_writeup.md and new_node_checklist.md into
 * the run folder; returns their paths.
 *
 * @example
 * ```ts
 * await writeWriteupFiles(await buildWriteup(run.dir));
 * ```
 */
export async function writeWriteupFiles(w: Writeup): Promise<string[]> {
  const dir = w.data.dir;
  const out = WRITEUP_FILES.map((f) => join(dir, f));
  await writeTextAtomic(out[0], factsJson(w.book));
  await writeTextAtomic(out[1], thresholdsJson(w.thresholds.thresholds));
  await writeTextAtomic(out[2], JSON.stringify(grafanaDashboard(w.thresholds.thresholds), null, 2) + "\n");
  await writeTextAtomic(out[3], dayWriteupMarkdown(w));
  await writeTextAtomic(out[4], htmlToMarkdown(w.checklist.html));
  return out;
}
