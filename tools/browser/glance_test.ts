// The run index "at a glance" and compare's page of two runs in a real browser (Debian's Chromium through
// Playwright), served over loopback HTTP: every chart image decodes with a natural size, each chart links to
// its tier's notebook report and the link answers 200, and the pages log no console error and no failed
// request. Screenshots of both pages go to $SERVELAB_BROWSER_ARTIFACTS, else reports/screenshots/.
//
// The run: a copy of $SERVELAB_BROWSER_RUN_DIR (the gate's notebooks run), or a fresh SERVELAB_SIZE=test run
// of the four tier notebooks on the embedded engine. The second run of the compare page is a copy of the
// first under another id (the page must draw, link and list, whatever the numbers).
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { cp } from "node:fs/promises";
import type { Page } from "playwright-core";
import { writeComparePage } from "../../lib/compare/mod.ts";
import { createRun, finishRun, openRun, updateManifest } from "../../lib/run/mod.ts";
import { TIERS } from "../../lib/tiers/mod.ts";
import { writeRunIndex, writeRunsIndex } from "../../lib/writeup/mod.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";
import { openBrowser, problemsText, watchPage } from "./chromium.ts";
import { serveFolder } from "./static_server.ts";

async function shotsDir(): Promise<string> {
  const dir = Deno.env.get("SERVELAB_BROWSER_ARTIFACTS") || join(ROOT, "reports", "screenshots");
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Builds `<root>/<A>` (a copy of the gate's run, or a fresh test run) and `<root>/<A>-copy`. */
async function twoRuns(root: string): Promise<[string, string]> {
  const from = Deno.env.get("SERVELAB_BROWSER_RUN_DIR");
  let a: string;
  if (from) {
    a = join(root, basename(from.replace(/\/$/, "")));
    await cp(from, a, { recursive: true });
  } else {
    const run = await createRun({ engine: "sim", root, params: { size: "test" } });
    a = run.dir;
    const notebooks = TIERS.map((t) => join(ROOT, "notebooks", `${t.notebook}.ipynb`));
    const r = await runNotebooks(notebooks, {
      out: a,
      env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: a },
      quiet: true,
    });
    assert.equal(r.code, 0, `the tier notebooks failed:\n${r.output.slice(-3000)}`);
    await finishRun(run, "complete");
  }
  const b = `${a}-copy`;
  await cp(a, b, { recursive: true });
  const runB = await openRun(b);
  await updateManifest(runB.manifestPath, (m) => ({ ...m, run_id: basename(b) }));
  await writeRunIndex(await openRun(a));
  await writeRunIndex(runB);
  return [basename(a), basename(b)];
}

/** Every <img>: decoded, natural size, and the href of the link around it (if any). */
async function images(page: Page) {
  return await page.evaluate(async () => {
    const out = [];
    for (const img of Array.from(document.images)) {
      let decoded = true;
      try {
        await img.decode();
      } catch {
        decoded = false;
      }
      out.push({
        decoded,
        width: img.naturalWidth,
        height: img.naturalHeight,
        data_url: img.src.startsWith("data:image/svg+xml"),
        link: (img.closest("a.tier-link") as HTMLAnchorElement | null)?.href,
        tier: (img.closest("[data-tier]") as HTMLElement | null)?.dataset.tier,
      });
    }
    return out;
  });
}

async function assertChartsLinked(page: Page, where: string, tiersWithCharts: number) {
  const imgs = await images(page);
  const charts = imgs.filter((i) => i.tier !== undefined);
  assert.ok(
    charts.length >= tiersWithCharts,
    `${where}: ${charts.length} chart images, want >= ${tiersWithCharts}`,
  );
  for (const [k, i] of imgs.entries()) {
    assert.ok(
      i.decoded && i.width > 0 && i.height > 0,
      `${where}: image ${k} did not decode (${JSON.stringify(i)})`,
    );
    assert.ok(i.data_url, `${where}: image ${k} is not an SVG data URL`);
  }
  for (const c of charts) {
    const tier = TIERS.find((t) => t.key === c.tier);
    assert.ok(tier, `${where}: a chart of an unknown tier '${c.tier}'`);
    assert.ok(c.link, `${where}: the ${c.tier} chart links nowhere`);
    assert.ok(
      new URL(c.link!).pathname.endsWith(`/${tier!.notebook}.html`),
      `${where}: ${c.tier} links to ${c.link}`,
    );
    const res = await fetch(c.link!);
    await res.body?.cancel();
    assert.equal(res.status, 200, `${where}: the ${c.tier} chart's link ${c.link} answered ${res.status}`);
  }
  return charts;
}

Deno.test({
  name:
    "browser: the run index shows each tier's chart linking to its notebook; compare's page of two runs too",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "servelab-glance-" });
    try {
      const [a, b] = await twoRuns(root);
      const { path, page: made } = await writeComparePage([a, b], { root });
      assert.ok(made.charts.length > 0, "the compare page drew no curve");
      await using srv = serveFolder(root);
      await using browser = await openBrowser();
      const shots = await shotsDir();

      const index = await browser.context.newPage();
      const p1 = watchPage(index);
      const r1 = await index.goto(`${srv.url}${a}/index.html`, { waitUntil: "load" });
      assert.ok(r1?.ok());
      const glance = await index.locator(".glance section").count();
      assert.equal(glance, TIERS.length, "one glance card per tier");
      const drawn = await assertChartsLinked(index, "run index", 1);
      const chartTiers = new Set(drawn.map((c) => c.tier));
      assert.equal(
        chartTiers.size,
        await index.locator(".glance .chart").count(),
        "one linked chart per card",
      );
      console.log(`run index: charts of ${[...chartTiers].join(", ")}`);
      await index.screenshot({ path: join(shots, "run_index.png"), fullPage: true });
      assert.equal(problemsText(p1), undefined, `run index: ${problemsText(p1)}`);

      const cmp = await browser.context.newPage();
      const p2 = watchPage(cmp);
      const rel = path.slice(root.length + 1);
      const r2 = await cmp.goto(`${srv.url}${rel}`, { waitUntil: "load" });
      assert.ok(r2?.ok());
      const curves = await assertChartsLinked(cmp, "compare page", made.charts.length);
      assert.equal(new Set(curves.map((c) => c.tier)).size, new Set(made.charts.map((c) => c.tier)).size);
      assert.match(await cmp.locator("h2").first().innerText(), /Parameters that differ/);
      // The copy differs from its source in its run id only, which is not a parameter.
      assert.equal(made.differ.length, 0, JSON.stringify(made.differ));
      await cmp.screenshot({ path: join(shots, "compare.png"), fullPage: true });
      assert.equal(problemsText(p2), undefined, `compare page: ${problemsText(p2)}`);

      // reports/index.html: tick A then B; it shows the command and links the compare page written above.
      await writeRunsIndex(root);
      const runs = await browser.context.newPage();
      const p3 = watchPage(runs);
      assert.ok((await runs.goto(`${srv.url}index.html`, { waitUntil: "load" }))?.ok());
      await runs.locator(`input[name="run"][value="${a}"]`).check();
      await runs.locator(`input[name="run"][value="${b}"]`).check();
      assert.equal(await runs.locator("#compare-command").innerText(), `./servelab compare ${a} ${b}`);
      await runs.locator("#compare-page a").click();
      await runs.waitForURL(/\/compare\/.*_vs_.*\.html$/);
      assert.match(await runs.locator("h1").innerText(), /Compare 2 runs/);
      assert.equal(problemsText(p3), undefined, `runs index: ${problemsText(p3)}`);
      console.log(`screenshots: ${join(shots, "run_index.png")}, ${join(shots, "compare.png")}`);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
