/**
 * `reports/index.html`: every run folder under the reports root, newest first, with its date, engine
 * (SIMULATED on the embedded engine), model, status and a link to its index page. All text escaped.
 * @module
 */
import { join } from "node:path";
import { escapeHtml } from "../report/bundle.ts";
import { writeTextAtomic } from "../run/atomic.ts";

/** One run as the listing shows it. */
export interface RunListing {
  id: string;
  started_at?: string;
  engine: string;
  simulated: boolean;
  model?: string;
  status: string;
  has_index: boolean;
}

const CSS = "body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;padding:0 1em;color:#222}" +
  "table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}" +
  ".badge{background:#b00020;color:#fff;padding:0 .4em;border-radius:.3em;font-size:.8em}";

/** The "compare the selected runs" box: the command to run (from the project root), and the page when it
 * exists already; the existing compare pages listed. A small inline script, no request. */
function compareBox(compares: readonly string[]): string {
  const e = escapeHtml;
  const pages = JSON.stringify(compares).replaceAll("<", "\\u003c");
  return [
    `<h2>Compare runs</h2><p>Tick two runs or more (the first ticked is the baseline); then run, from the project root:</p>`,
    `<pre id="compare-command">./servelab compare RUN_A RUN_B</pre><p id="compare-page"></p>`,
    compares.length
      ? `<p>Compare pages written so far:</p><ul>${
        compares.map((c) => `<li><a href="${e(encodeURI(`compare/${c}`))}">${e(c)}</a></li>`).join("")
      }</ul>`
      : "",
    `<script>(() => {
  const pages = new Set(${pages});
  const order = [];
  const cmd = document.getElementById("compare-command");
  const page = document.getElementById("compare-page");
  for (const box of document.querySelectorAll('input[name="run"]')) {
    box.addEventListener("change", () => {
      const i = order.indexOf(box.value);
      if (box.checked && i < 0) order.push(box.value);
      if (!box.checked && i >= 0) order.splice(i, 1);
      cmd.textContent = "./servelab compare " + (order.length >= 2 ? order.join(" ") : "RUN_A RUN_B");
      const name = order.join("_vs_") + ".html";
      page.textContent = "";
      if (order.length >= 2 && pages.has(name)) {
        const a = document.createElement("a");
        a.href = "compare/" + encodeURIComponent(name);
        a.textContent = "open its compare page";
        page.append(a);
      }
    });
  }
})();</script>`,
  ].join("\n");
}

/**
 * The listing page's HTML.
 *
 * @example
 * ```ts
 * runsIndexHtml([{ id: "r1", engine: "sim", simulated: true, status: "complete", has_index: true }]);
 * ```
 */
export function runsIndexHtml(runs: readonly RunListing[], compares: readonly string[] = []): string {
  const e = escapeHtml;
  const rows = runs.map((r) =>
    `<tr><td><input type="checkbox" name="run" value="${e(r.id)}" aria-label="compare ${e(r.id)}"></td><td>${
      r.started_at
        ? `<time datetime="${e(r.started_at)}">${e(r.started_at.replace("T", " ").slice(0, 19))}</time>`
        : ""
    }</td>` +
    `<td>${
      r.has_index
        ? `<a href="${e(encodeURI(`${r.id}/index.html`))}"><code>${e(r.id)}</code></a>`
        : `<code>${e(r.id)}</code>`
    }</td>` +
    `<td>${r.simulated ? '<span class="badge">SIMULATED</span> ' : ""}${e(r.engine)}</td>` +
    `<td>${e(r.model ?? "")}</td><td>${e(r.status)}</td></tr>`
  );
  return [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>servelab runs</title><style>${CSS}</style></head><body>`,
    "<h1>servelab runs</h1>",
    runs.length
      ? `<table><thead><tr><th>compare</th><th>started (UTC)</th><th>run</th><th>engine</th><th>model</th><th>status</th></tr></thead><tbody>${
        rows.join("")
      }</tbody></table>${compareBox(compares)}`
      : "<p>No runs yet: <code>./servelab run</code> writes one.</p>",
    "</body></html>",
    "",
  ].join("\n");
}

/**
 * Writes `<root>/index.html` listing the run folders under root (folders with a manifest.json); returns
 * its path. A manifest that cannot be read is listed as unreadable, not skipped.
 *
 * @example
 * ```ts
 * await writeRunsIndex("reports");
 * ```
 */
export async function writeRunsIndex(root: string): Promise<string> {
  const runs: RunListing[] = [];
  for await (const d of Deno.readDir(root)) {
    if (!d.isDirectory) continue;
    let text: string;
    try {
      text = await Deno.readTextFile(join(root, d.name, "manifest.json"));
    } catch {
      continue;
    }
    let has_index = false;
    try {
      has_index = (await Deno.stat(join(root, d.name, "index.html"))).isFile;
    } catch { /* none */ }
    try {
      const m = JSON.parse(text);
      const kind = String(m.engine?.kind ?? "?");
      const version = typeof m.engine?.version === "string" ? m.engine.version : "";
      const simulated = kind === "sim" || version.includes("servelab-sim");
      runs.push({
        id: d.name,
        started_at: typeof m.started_at === "string" ? m.started_at : undefined,
        engine: `${kind}${version ? ` ${version}` : ""}${
          kind === "sim" && m.sim_profile ? `, ${m.sim_profile} profile` : ""
        }`,
        simulated,
        model: typeof m.model === "string" ? m.model : undefined,
        status: String(m.status ?? "?"),
        has_index,
      });
    } catch {
      runs.push({ id: d.name, engine: "?", simulated: false, status: "manifest unreadable", has_index });
    }
  }
  runs.sort((a, b) => (b.started_at ?? b.id).localeCompare(a.started_at ?? a.id));
  const compares: string[] = [];
  try {
    for await (const f of Deno.readDir(join(root, "compare"))) {
      if (f.isFile && f.name.endsWith(".html")) compares.push(f.name);
    }
  } catch { /* no compare pages yet */ }
  const path = join(root, "index.html");
  await writeTextAtomic(path, runsIndexHtml(runs, compares.sort()));
  return path;
}
