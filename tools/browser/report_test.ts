// The HTML reports in a real browser (Debian's Chromium through Playwright), served over loopback HTTP
// as a person who serves reports/ would: the index and every tier page load with no console error and no
// failed request, links work, charts decode and have a size, tables have rows, a SIMULATED run says so
// at the top of every page, code cells are hidden, and hostile text from the run data runs nothing.
//
// The run folder: a copy of $SERVELAB_BROWSER_RUN_DIR (the gate's notebooks step passes its folder), or
// a fresh SERVELAB_SIZE=test run of one tier notebook. Screenshots go to $SERVELAB_BROWSER_ARTIFACTS, or
// to a temporary folder whose path is printed.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { type Browser, openBrowser, type PageProblems, problemsText, watchPage } from "./chromium.ts";
import { PWNED_GLOBAL, reportFixture } from "./report_fixture.ts";
import { serveFolder } from "./static_server.ts";

async function artifactsDir(): Promise<string> {
  const want = Deno.env.get("SERVELAB_BROWSER_ARTIFACTS");
  if (!want) return await Deno.makeTempDir({ prefix: "servelab-browser-shots-" });
  await Deno.mkdir(want, { recursive: true });
  return want;
}

async function open(browser: Browser, url: string): Promise<{ page: Page; problems: PageProblems }> {
  const page = await browser.context.newPage();
  const problems = watchPage(page);
  const res = await page.goto(url, { waitUntil: "load" });
  assert.ok(res?.ok(), `${url} answered ${res?.status()}`);
  return { page, problems };
}

function assertClean(problems: PageProblems, url: string): void {
  const text = problemsText(problems);
  assert.equal(text, undefined, `${url} had problems:\n${text}`);
}

/** The element whose own text says SIMULATED nearest the top of the page, and where it is. */
async function simulatedLabel(page: Page): Promise<{ tag: string; text: string; top: number } | undefined> {
  return await page.evaluate(() => {
    const found: { tag: string; text: string; top: number }[] = [];
    for (const el of Array.from(document.querySelectorAll("h1, h2, .badge, p, strong, title"))) {
      const text = (el as HTMLElement).innerText ?? el.textContent ?? "";
      if (!/\bSIMULATED\b/.test(text) || el.tagName === "TITLE") continue;
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      if (r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none") {
        found.push({ tag: el.tagName, text: text.slice(0, 120), top: r.top + scrollY });
      }
    }
    return found.sort((a, b) => a.top - b.top)[0];
  });
}

/** Every <img> on the page: its source kind, whether it decoded, and its natural size. */
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
        alt: img.alt,
        data_url: img.src.startsWith("data:image/"),
        src_head: img.src.slice(0, 40),
        src: img.src,
        decoded,
        width: img.naturalWidth,
        height: img.naturalHeight,
        shown_width: img.getBoundingClientRect().width,
      });
    }
    return out;
  });
}

Deno.test({
  name:
    "the HTML reports render in Chromium: index, tier pages, charts, tables, SIMULATED label, hostile text",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const from = Deno.env.get("SERVELAB_BROWSER_RUN_DIR") || undefined;
    await using fx = await reportFixture({ from });
    const shots = await artifactsDir();
    console.log(
      `  run folder: ${from ?? "fresh test run"} (built in ${
        fx.build_s.toFixed(1)
      } s); screenshots: ${shots}`,
    );
    await using srv = serveFolder(fx.dir);
    await using browser = await openBrowser();

    await t.step("index.html loads cleanly, says SIMULATED, and every link works", async () => {
      const url = srv.url + "index.html";
      const { page, problems } = await open(browser, url);
      await page.screenshot({ path: join(shots, "index.png"), fullPage: true });
      if (fx.sim) {
        const label = await simulatedLabel(page);
        assert.ok(
          label && label.top < 300,
          `index.html shows no SIMULATED label near the top: ${JSON.stringify(label)}`,
        );
      }
      const links = await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href")!));
      for (const tier of [...fx.tiers, fx.hostile]) {
        assert.ok(links.includes(tier), `index.html links ${tier}`);
      }
      // Data files, the manifest: fetched by the browser, each must answer 200.
      for (const href of links.filter((h) => !h.endsWith(".html"))) {
        const r = await page.request.get(new URL(href, url).href);
        assert.equal(r.status(), 200, `index.html's link ${href} answered ${r.status()}`);
      }
      // Tier pages: followed by clicking, as a person would.
      for (const href of links.filter((h) => h.endsWith(".html"))) {
        const [res] = await Promise.all([
          page.waitForNavigation({ waitUntil: "load" }),
          page.click(`a[href="${href}"]`),
        ]);
        assert.ok(res?.ok(), `clicking ${href} on index.html answered ${res?.status()}`);
        assert.equal(new URL(page.url()).pathname, `/${href}`);
        await page.goBack({ waitUntil: "load" });
      }
      assertClean(problems, url);
      await page.close();
    });

    for (const tier of fx.tiers) {
      await t.step(
        `${tier} shows its charts and tables, says SIMULATED, hides code, loads nothing from outside`,
        async () => {
          const url = srv.url + tier;
          const { page, problems } = await open(browser, url);
          await page.screenshot({ path: join(shots, tier.replace(/\.html$/, ".png")) });
          const title = await page.title();
          assert.notEqual(
            title,
            "Notebook",
            `${tier}'s <title> is the exporter's default, not the tier's name`,
          );

          const imgs = await images(page);
          const charts = imgs.filter((i) => i.alt !== "legend");
          assert.ok(charts.length >= 1, `${tier} shows no chart`);
          for (const img of imgs) {
            assert.ok(img.data_url, `${tier}: image '${img.alt}' is not a data: URL (${img.src_head})`);
            assert.ok(img.decoded, `${tier}: image '${img.alt}' does not decode`);
            assert.ok(img.width > 0 && img.height > 0, `${tier}: image '${img.alt}' has no natural size`);
            assert.ok(img.shown_width > 0, `${tier}: image '${img.alt}' is not laid out`);
            const svg = new TextDecoder().decode(
              Uint8Array.from(atob(img.src.slice(img.src.indexOf(",") + 1)), (c) => c.charCodeAt(0)),
            );
            assert.match(svg, /^<svg[\s>]/, `${tier}: image '${img.alt}' is not an SVG`);
          }

          const tables = await page.$$eval("table", (ts) =>
            ts.map((t) => ({
              rows: t.querySelectorAll("tbody tr, tr").length,
              cells: t.querySelectorAll("td").length,
              visible: t.getBoundingClientRect().width > 0,
            })));
          assert.ok(tables.some((t) => t.cells > 0 && t.visible), `${tier} shows no table with cells`);
          const stem = tier.replace(/\.html$/, "");
          await page.locator("figure").first().screenshot({ path: join(shots, `${stem}-chart.png`) });
          await page.locator("table").first().screenshot({ path: join(shots, `${stem}-table.png`) });

          if (fx.sim) {
            const label = await simulatedLabel(page);
            assert.ok(
              label && label.top < 300,
              `${tier} shows no SIMULATED label near the top: ${JSON.stringify(label)}`,
            );
          }

          const code = await page.evaluate(() => ({
            cells: document.querySelectorAll(".jp-CodeCell").length,
            inputs:
              document.querySelectorAll(".jp-CodeCell .jp-InputArea, .jp-CodeCell .jp-Cell-inputWrapper")
                .length,
            imports: document.body.innerText.includes('from "../lib/mod.ts"'),
          }));
          assert.ok(code.cells > 0, `${tier} has no code cells (outputs) at all`);
          assert.equal(code.inputs, 0, `${tier} shows code inputs`);
          assert.equal(code.imports, false, `${tier} shows the notebook's import line`);

          assertClean(problems, url);
          await page.close();
        },
      );
    }

    await t.step("hostile text in the run data is shown as text and runs nothing", async () => {
      for (const name of ["index.html", fx.hostile]) {
        const url = srv.url + name;
        const { page, problems } = await open(browser, url);
        await page.screenshot({ path: join(shots, name.replace(/\.html$/, "-hostile.png")), fullPage: true });
        const seen = await page.evaluate((g) => ({
          pwned: (globalThis as Record<string, unknown>)[g],
          injected_imgs: document.querySelectorAll('img[src="x"]').length,
          onerror_attrs: document.querySelectorAll("[onerror]").length,
          scripts_with_payload: Array.from(document.scripts).filter((s) => s.text.includes(g)).length,
          text: document.body.innerText,
        }), PWNED_GLOBAL);
        assert.equal(seen.pwned, undefined, `${name}: the hostile markup ran`);
        assert.deepEqual(problems.dialogs, [], `${name}: the hostile markup opened a dialog`);
        assert.equal(seen.injected_imgs, 0, `${name}: an <img src=x> element was injected`);
        assert.equal(seen.onerror_attrs, 0, `${name}: an element with an onerror attribute was injected`);
        assert.equal(seen.scripts_with_payload, 0, `${name}: a <script> element carries the payload`);
        assert.ok(
          seen.text.includes("<img src=x onerror="),
          `${name} does not show the hostile text as text`,
        );
        assertClean(problems, url);
        await page.close();
      }
    });
  },
});
