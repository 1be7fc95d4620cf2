/**
 * Compare's HTML page for two or more runs: the parameters that differ between them (manifests: engine,
 * version, model, sizes, engine configs, host, code), then for each tier its curves (the Tier contract's
 * `compareCurves`) with every run overlaid on one chart, the points that differ from the first run beyond
 * noise ringed and listed, and `compareRuns`' noise verdicts of each run against the first (or why there
 * are none: their workloads differ). Charts are `<img>` (lib/report/plot.ts), each linking to the tier's
 * notebook report of the first run. All text is escaped.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { parse } from "csv-parse/sync";
import { basename, join, relative } from "node:path";
import { escapeHtml } from "../report/bundle.ts";
import { type Chart, plot } from "../report/plot.ts";
import { writeTextAtomic } from "../run/atomic.ts";
import { type Manifest, readManifest } from "../run/manifest.ts";
import { openRun, reportsRoot } from "../run/run_dir.ts";
import { REPO_ROOT } from "../run/host.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier, CompareCurve, CsvTextRow } from "../tiers/tier.ts";
import { type CompareResult, compareRuns, noiseVerdict } from "./compare.ts";

/** One run as the page sees it. */
interface PageRun {
  /** "A", "B", ... */
  letter: string;
  id: string;
  dir: string;
  manifest: Manifest;
  rows: (file: string) => CsvTextRow[] | undefined;
}

/** A point of one run that differs from the first run's beyond noise. */
export interface CurveDifference {
  tier: string;
  curve: string;
  run: string;
  x: number | string;
  series?: string;
  a: number;
  b: number;
}

/** What {@link comparePage} made. */
export interface ComparePage {
  html: string;
  runs: string[];
  /** Manifest fields whose values are not the same in every run: field, then one value per run. */
  differ: { field: string; values: string[] }[];
  /** Charts drawn, by tier key and curve id, with the chart (to show in a notebook). */
  charts: { tier: string; curve: string; chart: Chart }[];
  differences: CurveDifference[];
}

const SKIP = new Set(["schema_version", "run_id", "status", "started_at", "ended_at", "inputs", "engines"]);

function flatten(o: unknown, prefix: string, out: Map<string, string>): void {
  if (o !== null && typeof o === "object" && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (o !== undefined) {
    out.set(prefix, typeof o === "string" ? o : JSON.stringify(o));
  }
}

/** A manifest as `field -> value` words: engine, model, params, host, code, and each engine start's config. */
export function manifestFields(m: Manifest): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(m)) {
    if (!SKIP.has(k)) flatten(v, k, out);
  }
  out.delete("params.force");
  out.delete("params.resumed_at");
  for (const e of m.engines ?? []) {
    const label = (e as { label?: string }).label ?? "?";
    flatten((e as { config?: unknown }).config, `engine start "${label}"`, out);
  }
  for (const i of m.inputs ?? []) out.set(`input ${i.path} sha256`, String(i.sha256).slice(0, 12));
  return out;
}

/** The fields whose values differ across the manifests (absent counts as a value). */
export function differingFields(ms: readonly Manifest[]): { field: string; values: string[] }[] {
  const flat = ms.map(manifestFields);
  const fields = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  return fields.map((field) => ({ field, values: flat.map((f) => f.get(field) ?? "absent") }))
    .filter((d) => new Set(d.values).size > 1);
}

function rowsReader(dir: string): (file: string) => CsvTextRow[] | undefined {
  const cache = new Map<string, CsvTextRow[] | undefined>();
  return (file) => {
    if (!cache.has(file)) {
      let rows: CsvTextRow[] | undefined;
      try {
        rows = parse(Deno.readTextFileSync(join(dir, file)), { columns: true, skip_empty_lines: true });
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      cache.set(file, rows);
    }
    return cache.get(file);
  };
}

const fmt = (v: number | undefined) =>
  v === undefined ? "-" : Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));

const CSS = "body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}" +
  "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #ddd;" +
  "text-align:left;vertical-align:top}td.num,th.num{text-align:right}.yes{color:#b00020;font-weight:bold}" +
  ".badge{background:#b00020;color:#fff;padding:0 .4em;border-radius:.3em;font-size:.8em}" +
  ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(30em,1fr));gap:1em}" +
  ".charts img{max-width:100%;height:auto}figure{margin:0}.note{color:#555}.title{font-weight:bold}";

/** One curve of every run overlaid; the points beyond noise against run A ringed. */
function curveChart(
  c: CompareCurve,
  per: { run: PageRun; curve?: CompareCurve }[],
  tier: AnyTier,
  diffs: CurveDifference[],
) {
  const label = (r: PageRun) => `${r.letter}: ${r.id}`;
  const data = per.flatMap(({ run, curve }) =>
    (curve?.points ?? []).map((p) => ({
      run: label(run),
      line: `${label(run)} ${p.series ?? ""}`,
      series: p.series ?? "",
      x: p.x,
      y: p.y,
    }))
  );
  const [base, ...others] = per;
  for (const o of others) {
    for (const p of o.curve?.points ?? []) {
      const q = base.curve?.points.find((b) => b.x === p.x && (b.series ?? "") === (p.series ?? ""));
      if (!q) continue;
      const v = noiseVerdict(
        c.test,
        c.test === "exact" ? [q.y] : q.values ?? [],
        c.test === "exact" ? [p.y] : p.values ?? [],
      );
      if (v) {
        diffs.push({ tier: tier.key, curve: c.id, run: o.run.id, x: p.x, series: p.series, a: q.y, b: p.y });
      }
    }
  }
  const mine = diffs.filter((d) => d.tier === tier.key && d.curve === c.id);
  const ringed = mine.map((d) => ({ x: d.x, y: d.b }));
  const categorical = data.some((d) => typeof d.x === "string");
  const hasSeries = data.some((d) => d.series);
  return plot({
    title: c.title,
    subtitle: `${per.length} runs; ringed: differs from run A beyond noise (${c.test} test)`,
    width: 560,
    height: 300,
    marginLeft: 60,
    x: categorical
      ? { type: "point", label: c.x.label, padding: 0.5 }
      : { type: c.x.log ? "log" : "linear", label: `${c.x.label} →`, grid: true },
    y: { label: `↑ ${c.y.label}`, grid: true, zero: true },
    color: { legend: true, domain: per.map(({ run }) => label(run)) },
    ...(hasSeries ? { symbol: { legend: true } } : {}),
    marks: [
      Plot.line(data, { x: "x", y: "y", z: "line", stroke: "run", ...(categorical ? {} : { sort: "x" }) }),
      Plot.dot(data, { x: "x", y: "y", stroke: "run", ...(hasSeries ? { symbol: "series" } : {}), r: 3.5 }),
      Plot.dot(ringed, { x: "x", y: "y", r: 9, stroke: "black", strokeWidth: 1.5, fill: "none" }),
    ],
  });
}

/**
 * Builds the compare page of runs (ids under `root` or folder paths); the first run is the baseline.
 *
 * @example
 * ```ts
 * const page = await comparePage(["20261208-005227-sim-bfe6", "20261208-004921-sim-f507"]);
 * ```
 */
export async function comparePage(
  ids: readonly string[],
  options: { root?: string; tiers?: readonly AnyTier[]; hrefBase?: (runDir: string) => string } = {},
): Promise<ComparePage> {
  if (ids.length < 2) throw new Error(`compare needs two runs or more, got ${ids.length}.`);
  const tiers = options.tiers ?? TIERS;
  const runs: PageRun[] = [];
  for (const [i, id] of ids.entries()) {
    const run = await openRun(id, { root: options.root });
    runs.push({
      letter: String.fromCharCode(65 + i),
      id: run.id,
      dir: run.dir,
      manifest: await readManifest(run.manifestPath),
      rows: rowsReader(run.dir),
    });
  }
  const href = options.hrefBase ?? ((dir: string) => `../${basename(dir)}/`);
  const e = escapeHtml;
  const sim = runs.some((r) => r.manifest.engine.kind === "sim");
  const verdicts: CompareResult[] = [];
  for (const r of runs.slice(1)) verdicts.push(await compareRuns(runs[0].dir, r.dir, { tiers }));
  const differ = differingFields(runs.map((r) => r.manifest));
  const charts: ComparePage["charts"] = [];
  const differences: CurveDifference[] = [];
  const sections: string[] = [];
  for (const t of tiers) {
    if (!t.compareCurves) continue;
    const per = runs.map((run) => ({ run, curves: t.compareCurves!(run.rows) }));
    const ids = [...new Set(per.flatMap((p) => p.curves.map((c) => c.id)))];
    const notebook = (r: PageRun) =>
      `<a href="${e(encodeURI(`${href(r.dir)}${t.notebook}.html`))}">${e(r.letter)}</a>`;
    const figures = ids.map((cid) => {
      const first = per.flatMap((p) => p.curves).find((c) => c.id === cid)!;
      const chart = curveChart(
        first,
        per.map((p) => ({ run: p.run, curve: p.curves.find((c) => c.id === cid) })),
        t,
        differences,
      );
      charts.push({ tier: t.key, curve: cid, chart });
      const link = `${href(runs[0].dir)}${t.notebook}.html`;
      const imgs = [...chart.html.matchAll(/<img [^>]*>/g)].map((m) => m[0]).join("<br>");
      return `<figure data-tier="${e(t.key)}" data-curve="${e(cid)}"><div class="title">${
        e(chart.title ?? "")
      }</div>` +
        `<div class="note">${e(chart.subtitle ?? "")}</div><a href="${
          e(encodeURI(link))
        }" class="tier-link" ` +
        `title="the tier's notebook report of run A">${imgs}</a></figure>`;
    });
    const mine = differences.filter((d) => d.tier === t.key);
    const list = mine.length
      ? `<p>Beyond noise against run A:</p><ul>${
        mine.map((d) =>
          `<li>${e(d.curve)}: run ${e(d.run)} at ${e(String(d.x))}${d.series ? ` (${e(d.series)})` : ""}: ${
            e(fmt(d.a))
          } → ${e(fmt(d.b))}${
            d.a ? ` (${d.b >= d.a ? "+" : ""}${e(fmt(((d.b - d.a) / d.a) * 100))}%)` : ""
          }</li>`
        ).join("")
      }</ul>`
      : figures.length
      ? `<p class="note">No point differs from run A beyond noise.</p>`
      : "";
    const rows = verdicts.flatMap((v, i) =>
      v.kind === "compared"
        ? v.rows.filter((r) => r.tier === `Tier ${t.number}`).map((r) =>
          `<tr><td>${e(runs[i + 1].letter)}</td><td>${e(r.metric)}</td><td class="num">${e(fmt(r.a))}</td>` +
          `<td class="num">${e(fmt(r.b))}</td><td class="num">${e(fmt(r.diff_pct))}</td><td class="${
            r.beyond_noise ? "yes" : ""
          }">${r.beyond_noise === undefined ? "-" : r.beyond_noise ? "YES" : "no"}</td><td>${
            e(r.test)
          }</td></tr>`
        )
        : []
    );
    const table = rows.length
      ? `<table><thead><tr><th>run</th><th>metric</th><th class="num">A</th><th class="num">this run</th>` +
        `<th class="num">diff %</th><th>beyond noise?</th><th>test</th></tr></thead><tbody>${
          rows.join("")
        }</tbody></table>`
      : "";
    sections.push(
      `<section id="tier-${e(t.key)}"><h2>${e(t.title)}</h2><p>Notebook reports: ${
        runs.map(notebook).join(", ")
      }</p>${
        figures.length
          ? `<div class="charts">${figures.join("")}</div>`
          : "<p>No run has points for this tier's curves (for batching: no valid repeat).</p>"
      }${list}${table}</section>`,
    );
  }
  const refused = verdicts.flatMap((v, i) =>
    v.kind === "refused"
      ? [
        `<li>${
          e(runs[i + 1].letter)
        } against A: no noise verdicts from <code>compare</code>, their workloads differ: ${
          e(v.mismatches.slice(0, 6).join("; "))
        }${v.mismatches.length > 6 ? ` (and ${v.mismatches.length - 6} more)` : ""}</li>`,
      ]
      : []
  );
  const html = [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>servelab compare ${
      e(runs.map((r) => r.id).join(" vs "))
    }${sim ? " (SIMULATED)" : ""}</title><style>${CSS}</style></head><body>`,
    `<h1>Compare ${runs.length} runs${sim ? ' <span class="badge">SIMULATED</span>' : ""}</h1>`,
    sim ? "<p>At least one run is from the embedded simulated engine: its numbers are SIMULATED.</p>" : "",
    `<table><thead><tr><th>run</th><th>id</th><th>engine</th><th>model</th><th>status</th></tr></thead><tbody>${
      runs.map((r) =>
        `<tr><td>${r.letter}</td><td><a href="${e(encodeURI(`${href(r.dir)}index.html`))}"><code>${
          e(r.id)
        }</code></a></td><td>${e(r.manifest.engine.kind)} ${e(r.manifest.engine.version ?? "")}</td><td>${
          e(r.manifest.model ?? "")
        }</td><td>${e(r.manifest.status)}</td></tr>`
      ).join("")
    }</tbody></table>`,
    "<h2>Parameters that differ</h2>",
    differ.length
      ? `<table><thead><tr><th>field</th>${
        runs.map((r) => `<th>${r.letter}</th>`).join("")
      }</tr></thead><tbody>${
        differ.map((d) =>
          `<tr><td><code>${e(d.field)}</code></td>${d.values.map((v) => `<td>${e(v)}</td>`).join("")}</tr>`
        )
          .join("")
      }</tbody></table>`
      : "<p>None: the runs' manifests agree on engine, model, parameters, host and code.</p>",
    refused.length ? `<ul>${refused.join("")}</ul>` : "",
    ...sections,
    "</body></html>",
    "",
  ].join("\n");
  return { html, runs: runs.map((r) => r.id), differ, charts, differences };
}

/**
 * A notebook that redraws the page's charts of these runs (open it in `./servelab lab`, or run it): its
 * parameters cell names the runs; it imports the lab from `lib/mod.ts` relative to where it is written.
 */
export function compareNotebook(ids: readonly string[], libMod: string): string {
  const code = (src: string) => ({
    cell_type: "code",
    execution_count: null,
    metadata: {},
    outputs: [],
    source: src.split("\n").map((l, i, a) => (i < a.length - 1 ? `${l}\n` : l)),
  });
  const cells = [
    {
      cell_type: "markdown",
      metadata: {},
      source: [
        "# Compare runs\n",
        "\n",
        "Each tier's curves of every run on one chart; ringed: a point that differs from the first run beyond noise.",
      ],
    },
    code(`import { comparePage, show, table } from ${JSON.stringify(libMod)};`),
    {
      ...code(
        `// Parameters: the runs (ids under reports/ or folder paths); the first is the baseline.\nconst RUNS = ${
          JSON.stringify(ids)
        };`,
      ),
      metadata: { tags: ["parameters"] },
    },
    code(
      "const page = await comparePage(RUNS);\n" +
        'await show(table(page.differ.map((d) => ({ field: d.field, ...Object.fromEntries(d.values.map((v, i) => [String.fromCharCode(65 + i), v])) })), { caption: "Parameters that differ" }));\n' +
        "for (const c of page.charts) await show(c.chart);",
    ),
  ];
  const nb = {
    // nbformat 4.5 wants an id per cell.
    cells: cells.map((c, i) => ({ id: `compare-${i}`, ...c })),
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return JSON.stringify(nb, null, 1) + "\n";
}

/** The page's path for some runs: `<root>/compare/<A>_vs_<B>[_vs_<C>...].html`. */
export function comparePagePath(ids: readonly string[], root: string = reportsRoot()): string {
  const names = ids.map((id) => id.replace(/\/+$/, "").split("/").at(-1)!);
  return join(root, "compare", `${names.join("_vs_")}.html`);
}

/**
 * Writes the compare page of runs under `<root>/compare/` and returns its path.
 *
 * @example
 * ```ts
 * console.log(await writeComparePage(["run-a", "run-b"]));
 * ```
 */
export async function writeComparePage(
  ids: readonly string[],
  options: { root?: string; tiers?: readonly AnyTier[] } = {},
): Promise<{ path: string; notebook: string; page: ComparePage }> {
  const root = options.root ?? reportsRoot();
  const path = comparePagePath(ids, root);
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));
  const page = await comparePage(ids, {
    ...options,
    hrefBase: (dir) => `${relative(dirOf(path), dir) || "."}/`,
  });
  const notebook = path.replace(/\.html$/, ".ipynb");
  const nbName = escapeHtml(notebook.split("/").at(-1)!);
  await writeTextAtomic(
    path,
    page.html.replace(
      "</body>",
      `<p class="note">These charts as a notebook you can rerun: <a href="${
        escapeHtml(encodeURI(notebook.split("/").at(-1)!))
      }">${nbName}</a> (open it in <code>./servelab lab</code>).</p></body>`,
    ),
  );
  const libMod = relative(dirOf(path), join(REPO_ROOT, "lib", "mod.ts"));
  await writeTextAtomic(
    notebook,
    compareNotebook(page.runs, libMod.startsWith(".") ? libMod : `./${libMod}`),
  );
  return { path, notebook, page };
}
