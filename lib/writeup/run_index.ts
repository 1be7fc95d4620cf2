/**
 * The run's `index.html`: which engine ran (a SIMULATED badge on the embedded engine), the run's status
 * and times, and links to each notebook's HTML report and each CSV/MD file in the run folder. All text
 * is HTML-escaped. Kept minimal on purpose; richer summaries build on `runIndexHtml`'s input.
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "../run/atomic.ts";
import { readManifest } from "../run/manifest.ts";
import type { Run } from "../run/run_dir.ts";
import { escapeHtml } from "../report/bundle.ts";
import { type FactBook, factBook, readRunData } from "./run_data.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier } from "../tiers/tier.ts";
import { GLANCE_CSS, glanceHtml } from "./glance.ts";
import { runFacts } from "./writeup.ts";
import type { Fact } from "../report/fact.ts";
import { isEmbeddedEngine } from "../engine/identity.ts";
import { outcomeLines, type TierOutcome } from "../run/outcome.ts";
import { Capabilities, capabilityRows } from "../probe/capabilities.ts";

/** Issue 20: a failed or partial tier's status (its cause is under Failures, in code); undefined for the others.
 * No digits: every number on the index is a fact span (lib/writeup/trace.ts). */
function outcomeText(o: TierOutcome | undefined): string | undefined {
  if (o?.status === "failed") return "failed: every point failed (the cause is under Failures)";
  if (o?.status === "partial") return "partial: some points failed (the first cause is under Failures)";
  return undefined;
}

/** What the index page shows. */
export interface RunIndex {
  run_id: string;
  engine: string;
  engine_version?: string;
  sim_profile?: string;
  model?: string;
  status: string;
  started_at: string;
  ended_at?: string;
  error?: string;
  /** Notebook reports: file name of the HTML (relative to the run folder) and its title. */
  notebooks: { html: string; title: string }[];
  /** Data and write-up files (CSV, MD), relative to the run folder. */
  files: string[];
  /** The key numbers as trusted HTML whose numbers are fact spans (see lib/writeup). */
  key_numbers_html?: string;
  /** Each tier's status in words, with its report page when there is one. */
  tiers?: { name: string; status: string; html?: string }[];
  /** Issue 20: one line per tier that failed or partly failed, with its first failed point's error. */
  failures?: string[];
  /** Issue 20: what the server offers (label, value), from the capability probe. */
  capabilities?: [string, string][];
}

const CSS = "body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}" +
  GLANCE_CSS +
  ".badge{display:inline-block;background:#b00020;color:#fff;padding:.1em .5em;border-radius:.3em;" +
  "font-size:.8em;vertical-align:middle}table{border-collapse:collapse}td{padding:.15em 1em .15em 0}";

/**
 * The index page for a run, as HTML.
 *
 * @example
 * ```ts
 * runIndexHtml({ run_id: "r1", engine: "sim", status: "complete", started_at: "...", notebooks: [], files: [] });
 * ```
 */
export function runIndexHtml(index: RunIndex): string {
  const sim = index.engine === "sim" || isEmbeddedEngine(index.engine_version);
  const e = escapeHtml;
  const title = `servelab run ${index.run_id}${sim ? " (SIMULATED)" : ""}`;
  const rows: [string, string | undefined][] = [
    ["engine", `${index.engine}${index.engine_version ? ` ${index.engine_version}` : ""}`],
    ["simulated GPU profile", index.sim_profile],
    ["model", index.model],
    ["status", index.status],
  ];
  const time = (t: string | undefined) => t ? `<time datetime="${e(t)}">${e(t)}</time>` : undefined;
  const link = (href: string, text: string) => `<li><a href="${e(encodeURI(href))}">${e(text)}</a></li>`;
  return [
    "<!doctype html>",
    // The empty icon: a browser asks for /favicon.ico otherwise, a 404 in the console of a served report.
    `<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${
      e(title)
    }</title><style>${CSS}</style></head><body>`,
    `<h1>servelab run ${e(index.run_id)}${sim ? ' <span class="badge">SIMULATED</span>' : ""}</h1>`,
    sim
      ? "<p>These numbers come from the embedded simulated engine, not from vLLM on a GPU: they show how " +
        "vLLM behaves, not how fast your hardware is.</p>"
      : "",
    "<table>",
    ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `<tr><td>${e(k)}</td><td>${e(v)}</td></tr>`),
    ...([["started", time(index.started_at)], ["ended", time(index.ended_at)], [
      "error",
      index.error ? `<code>${e(index.error)}</code>` : undefined,
    ]] as const).filter(([, v]) => v !== undefined).map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`),
    "</table>",
    index.failures?.length
      ? `<h2>Failures</h2><ul>${index.failures.map((l) => `<li><code>${e(l)}</code></li>`).join("")}</ul>`
      : "",
    index.key_numbers_html ? `<h2>At a glance</h2>${index.key_numbers_html}` : "",
    index.tiers?.length
      ? `<h2>Tiers</h2><table>${
        index.tiers.map((t) =>
          `<tr><td>${t.html ? `<a href="${e(encodeURI(t.html))}">${e(t.name)}</a>` : e(t.name)}</td><td>${
            e(t.status)
          }</td></tr>`
        ).join("")
      }</table>`
      : "",
    index.capabilities?.length
      ? `<h2>Server capabilities</h2><table>${
        // Values with digits (HTTP statuses) in code: every bare number on the index is a fact span.
        index.capabilities.map(([k, v]) =>
          `<tr><td>${e(k)}</td><td>${/\d/.test(v) ? `<code>${e(v)}</code>` : e(v)}</td></tr>`
        ).join("")}</table>`
      : "",
    "<h2>Notebooks</h2>",
    index.notebooks.length
      ? `<ul>${index.notebooks.map((n) => link(n.html, n.title)).join("")}</ul>`
      : "<p>No notebook reports in this run.</p>",
    "<h2>Data and write-ups</h2>",
    index.files.length
      ? `<ul>${index.files.map((f) => link(f, f)).join("")}</ul>`
      : "<p>No CSV or MD files.</p>",
    `<p><a href="manifest.json">manifest.json</a></p>`,
    "</body></html>",
    "",
  ].join("\n");
}

/**
 * Writes `<run>/index.html` from the run's manifest and files, and returns its path.
 *
 * @example
 * ```ts
 * console.log(await writeRunIndex(run)); // .../reports/<run-id>/index.html
 * ```
 */
export async function writeRunIndex(run: Run, tiers: readonly AnyTier[] = TIERS): Promise<string> {
  const m = await readManifest(run.manifestPath);
  const names: string[] = [];
  for await (const f of Deno.readDir(run.dir)) if (f.isFile) names.push(f.name);
  names.sort();
  const notebooks = names
    .filter((n) =>
      n.endsWith(".html") && n !== "index.html" && names.includes(n.replace(/\.html$/, ".ipynb"))
    )
    .map((n) => ({
      html: n,
      // The file name: a title like "01 ttft" would put a bare number on a page whose numbers are facts.
      title: n,
    }));
  const files = names.filter((n) =>
    /\.(csv|md)$/i.test(n) || ["facts.json", "thresholds.json", "grafana-dashboard.json"].includes(n)
  );
  const { key_numbers_html, tiers: tierRows } = await keyNumbers(run.dir, names, tiers, m.tiers);
  const caps = Capabilities.safeParse(m.capabilities);
  const path = join(run.dir, "index.html");
  await writeTextAtomic(
    path,
    runIndexHtml({
      run_id: m.run_id,
      engine: m.engine.kind,
      engine_version: m.engine.version,
      sim_profile: m.sim_profile,
      model: m.model,
      status: m.status,
      started_at: m.started_at,
      ended_at: m.ended_at,
      error: m.error,
      notebooks,
      files: files.includes("facts.json") || !key_numbers_html ? files : [...files, "facts.json"].sort(),
      key_numbers_html,
      tiers: tierRows,
      failures: m.tiers ? outcomeLines(m.tiers) : undefined,
      capabilities: caps.success ? capabilityRows(caps.data) : undefined,
    }),
  );
  return path;
}

const STATUS_TEXT = {
  measured: "measured",
  no_data: "no data: the notebook ran but wrote no rows (failed, or skipped on this engine)",
  not_run: "not run",
} as const;

/**
 * The index's key numbers as fact spans, and the tiers' status; writes the facts it shows into facts.json
 * (adding to the write-up's when it exists), so every number on the page traces to a CSV.
 */
async function keyNumbers(
  dir: string,
  names: readonly string[],
  tiers: readonly AnyTier[],
  outcomes?: Readonly<Record<string, TierOutcome>>,
): Promise<{ key_numbers_html?: string; tiers?: RunIndex["tiers"] }> {
  let book: FactBook;
  try {
    book = factBook(await readRunData(dir, tiers));
  } catch {
    return {};
  }
  const f = runFacts(book, tiers);
  const rows: [string, Fact | undefined][] = tiers.flatMap((t) =>
    t.keyNumbers(f[t.key]).filter((k) => k.index !== undefined).map((k) =>
      [k.index!, k.fact] as [string, Fact | undefined]
    )
  );
  const shown = rows.filter(([, x]) => x !== undefined);
  const path = join(dir, "facts.json");
  let existing: { schema: string; run_id: string; facts: Fact[] } | undefined;
  try {
    existing = JSON.parse(await Deno.readTextFile(path));
  } catch { /* none yet */ }
  const have = new Set((existing?.facts ?? []).map((x) => x.id));
  const all = [...(existing?.facts ?? []), ...[...book.facts.values()].filter((x) => !have.has(x.id))];
  await writeTextAtomic(
    path,
    JSON.stringify(
      { schema: "servelab.facts/1", run_id: String(book.data.manifest.run_id ?? ""), facts: all },
      null,
      2,
    ) + "\n",
  );
  return {
    // Each tier's key chart (linking to its notebook) beside its key numbers (lib/writeup/glance.ts).
    key_numbers_html: shown.length
      ? glanceHtml(book.data, f, tiers, names)
      : "<p>No tier left data for key numbers.</p>",
    tiers: tiers.map((t) => ({
      name: t.title,
      status: outcomeText(outcomes?.[t.key]) ?? STATUS_TEXT[book.data.status[t.key] ?? "not_run"],
      html: names.includes(`${t.notebook}.html`) ? `${t.notebook}.html` : undefined,
    })),
  };
}
