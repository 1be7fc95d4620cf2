// An executed tier notebook opened later in JupyterLab, as a person opens one from a run folder: the
// headless runner (tools/run_notebooks.py, as the gate's notebooks step calls it) executes 01_ttft at
// SERVELAB_SIZE=test on the embedded engine; the .ipynb it writes is copied into a fresh JupyterLab,
// never signed, and opened without running a cell. JupyterLab then sanitizes every HTML output; the
// charts (`<img>` data URLs from lib/report/plot.ts) must still be there, decoded, with the SIMULATED
// heading visible and no output fallen back to plain text.
//
// A control notebook in the same lab holds the same chart in the forms the sanitizer removes (inline
// `<svg>` in text/html, an `image/svg+xml` output) and a `<script>`: the same checks must find no chart
// there and the script must not run, so the checks can fail and the lab really treats the files as
// untrusted.
//
// About 25 s on 2 cores (the runner's ~10 s included). SERVELAB_BROWSER_LAB=0 skips it.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { pidAlive } from "../../lib/engine/process_group.ts";
import { createRun, finishRun } from "../../lib/run/run_dir.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";
import { openBrowser, problemsText, watchPage } from "./chromium.ts";
import { type JupyterLab, startJupyterLab } from "./jupyterlab.ts";

const NOTEBOOK = "01_ttft.ipynb";
const CONTROL = "untrusted_control.ipynb";
const LAB_ON = Deno.env.get("SERVELAB_BROWSER_LAB") !== "0";
/** The global the control notebook's script would set if the lab ran it. */
const PWNED = "__servelab_untrusted_ran";

interface Output {
  output_type: string;
  name?: string;
  data?: Record<string, string | string[]>;
}
interface Cell {
  cell_type: string;
  execution_count?: number | null;
  outputs?: Output[];
}

const text = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";
const chartImgs = (html: string) => html.match(/<img [^>]*src="data:image\//g)?.length ?? 0;

/**
 * The chart outputs JupyterLab shows: outputs rendered as HTML holding an `<img>` with a data: URL,
 * each image decoded with a natural size.
 */
async function shownCharts(page: Page) {
  return await page.evaluate(async () => {
    const out = [];
    for (
      const el of Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/html"]'))
    ) {
      const imgs = Array.from(el.querySelectorAll("img")).filter((i) => i.src.startsWith("data:image/"));
      if (imgs.length === 0) continue;
      const sizes = [];
      for (const img of imgs) {
        const decoded = await img.decode().then(() => true, () => false);
        sizes.push({ decoded, width: img.naturalWidth, height: img.naturalHeight, alt: img.alt });
      }
      out.push(sizes);
    }
    return out;
  });
}

/** The mime type JupyterLab rendered each output as, in page order. */
async function shownMimeTypes(page: Page): Promise<string[]> {
  return await page.$$eval(
    ".jp-NotebookPanel .jp-OutputArea-output",
    (els) => els.map((e) => e.getAttribute("data-mime-type") ?? ""),
  );
}

async function openUntouched(page: Page, lab: JupyterLab, name: string, outputs: number): Promise<void> {
  await page.goto(lab.notebookUrl(name));
  await page.waitForSelector(".jp-NotebookPanel .jp-Cell", { timeout: 60_000 });
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 60_000 });
  // Cells render progressively: wait until every output of the file is in the page.
  await page.waitForFunction(
    (n: number) => document.querySelectorAll(".jp-NotebookPanel .jp-OutputArea-output").length >= n,
    outputs,
    { timeout: 60_000 },
  );
}

/** A notebook with one code cell whose outputs are the runner's first chart in four forms. */
function controlNotebook(executed: { metadata: unknown; cells: Cell[] }, chartHtml: string) {
  const b64 = chartHtml.match(/src="data:image\/svg\+xml;base64,([^"]+)"/)?.[1];
  assert.ok(b64, "the executed notebook's chart is not an SVG data URL");
  const svg = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  const display = (data: Record<string, string>) => ({ output_type: "display_data", metadata: {}, data });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: executed.metadata,
    cells: [{
      id: "control",
      cell_type: "code",
      execution_count: 1,
      metadata: {},
      source: "// outputs written by the test",
      outputs: [
        display({ "text/html": chartHtml, "text/plain": "chart as <img>" }),
        display({ "text/html": `<figure>${svg}</figure>`, "text/plain": "chart as inline svg" }),
        display({ "image/svg+xml": svg, "text/plain": "chart as image/svg+xml" }),
        display({
          "text/html": `<div>script<script>globalThis.${PWNED}=1</script></div>`,
          "text/plain": "script",
        }),
      ],
    }],
  };
}

Deno.test({
  name: "an executed notebook opened untrusted in JupyterLab still shows its charts",
  ignore: !LAB_ON,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t0 = performance.now();
    const tmp = await Deno.makeTempDir({ prefix: "servelab-lab-untrusted-" });
    let lab: JupyterLab | undefined;
    let leftovers: number[] = [];
    const seen: number[] = [];
    try {
      // 1. The executed notebook, as the runner writes it into a run folder.
      const run = await createRun({ engine: "sim", root: tmp, params: { size: "test" } });
      const r = await runNotebooks([join(ROOT, "notebooks", NOTEBOOK)], {
        out: run.dir,
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: run.dir },
        quiet: true,
      });
      assert.equal(r.code, 0, `the runner failed on ${NOTEBOOK}:\n${r.output.slice(-3000)}`);
      await finishRun(run, "complete");
      const runner_s = (performance.now() - t0) / 1000;
      const executedPath = join(run.dir, NOTEBOOK);
      const executed = JSON.parse(await Deno.readTextFile(executedPath)) as {
        metadata: Record<string, unknown>;
        cells: Cell[];
      };
      const code = executed.cells.filter((c) => c.cell_type === "code");
      const outputs = code.flatMap((c) => c.outputs ?? []);
      const charts = outputs.map((o) => text(o.data?.["text/html"])).filter((h) => chartImgs(h) > 0);
      assert.ok(charts.length >= 1, "the runner's notebook has no chart output");
      assert.equal(executed.metadata.signature, undefined, "the runner signed the notebook");

      // 2. Copied into a lab with its own, fresh Jupyter data folder (so its own notebook secret and
      // signature database), and never `jupyter trust`ed.
      const controlPath = join(tmp, CONTROL);
      await Deno.writeTextFile(controlPath, JSON.stringify(controlNotebook(executed, charts[0]), null, 1));
      lab = await startJupyterLab({
        notebooks: [executedPath, controlPath],
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: run.dir },
      });
      // The server says so: it checks the signature on load and marks every code cell untrusted.
      for (const name of [NOTEBOOK, CONTROL]) {
        const res = await fetch(`${lab.url}/api/contents/notebooks/${name}?content=1`, {
          headers: { authorization: `token ${lab.token}` },
        });
        assert.ok(res.ok, `contents API answered ${res.status} for ${name}`);
        const model = await res.json() as {
          content: { cells: (Cell & { metadata: { trusted?: boolean } })[] };
        };
        const trusted = model.content.cells.filter((c) => c.cell_type === "code").map((c) =>
          c.metadata.trusted
        );
        assert.ok(trusted.length > 0 && trusted.every((t) => t === false), `${name} trusted: ${trusted}`);
      }

      // 3. Open it, run nothing.
      await using browser = await openBrowser({ timeout_ms: 30_000 });
      const page = await browser.context.newPage();
      const problems = watchPage(page);
      await openUntouched(page, lab, NOTEBOOK, outputs.length);
      seen.push(...lab.descendants());
      // Nothing ran: the prompts are the runner's execution counts.
      const prompts = await page.$$eval(
        ".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt",
        (els) => els.map((e) => (e.textContent ?? "").trim()),
      );
      assert.deepEqual(prompts, code.map((c) => `[${c.execution_count ?? " "}]:`));

      // Every output is rendered as the runner wrote it: HTML stays HTML (no fallback to text/plain).
      const wanted = outputs.map((o) =>
        o.output_type === "stream"
          ? `application/vnd.jupyter.${o.name}`
          : o.output_type === "error"
          ? "application/vnd.jupyter.error"
          : o.data?.["text/html"] !== undefined
          ? "text/html"
          : o.data?.["text/markdown"] !== undefined
          ? "text/markdown"
          : "text/plain"
      );
      assert.deepEqual(await shownMimeTypes(page), wanted, "an output was not rendered as written");
      const shown = await shownCharts(page);
      assert.equal(shown.length, charts.length, "not every chart output of the file is shown");
      assert.deepEqual(shown.map((s) => s.length), charts.map(chartImgs), "a chart image was stripped");
      for (const img of shown.flat()) {
        assert.ok(img.decoded && img.width > 0 && img.height > 0, `chart image ${JSON.stringify(img)}`);
      }
      const heading = page.locator(".jp-OutputArea-output h1").first();
      await heading.scrollIntoViewIfNeeded();
      assert.ok(await heading.isVisible(), "the tier heading is not visible");
      assert.match(await heading.innerText(), /Tier 1 .*SIMULATED/);
      await page.screenshot({ path: join(tmp, "lab-untrusted.png") });
      const chart = page.locator('.jp-OutputArea-output[data-mime-type="text/html"] figure').first();
      await chart.scrollIntoViewIfNeeded();
      await chart.screenshot({ path: join(tmp, "lab-untrusted-chart.png") });
      assert.equal(problemsText(problems), undefined, problemsText(problems));

      // Control: the forms an untrusted notebook loses are lost here, and the same checks see it.
      const control = await browser.context.newPage();
      await openUntouched(control, lab, CONTROL, 4);
      assert.deepEqual(await shownMimeTypes(control), ["text/html", "text/html", "text/plain", "text/html"]);
      const controlCharts = await shownCharts(control);
      assert.equal(controlCharts.length, 1, "only the <img> form of the chart survives untrusted");
      assert.equal(await control.locator(".jp-OutputArea-output svg").count(), 0, "inline <svg> kept");
      assert.equal(
        await control.evaluate((g) => (globalThis as Record<string, unknown>)[g], PWNED),
        undefined,
      );
      seen.push(...lab.descendants());
      console.log(
        `  ${shown.flat().length} chart images in ${shown.length} outputs; runner ${
          runner_s.toFixed(1)
        } s, ` +
          `total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    } finally {
      if (lab) {
        seen.push(...lab.descendants());
        leftovers = await lab.stop();
      }
      const keep = Deno.env.get("SERVELAB_BROWSER_ARTIFACTS");
      if (keep) {
        await Deno.mkdir(keep, { recursive: true });
        for (const f of ["lab-untrusted.png", "lab-untrusted-chart.png"]) {
          await Deno.copyFile(join(tmp, f), join(keep, f)).catch(() => {});
        }
      }
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    assert.deepEqual(leftovers, [], "processes left running after JupyterLab stopped");
    assert.deepEqual([...new Set(seen)].filter(pidAlive), [], "a kernel outlived JupyterLab");
  },
});
