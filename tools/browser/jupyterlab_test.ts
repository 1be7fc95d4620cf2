// JupyterLab in a real browser, as a person uses `./servelab lab`: open a tier notebook, see the Deno
// kernel selected and idle, run every cell (SERVELAB_SIZE=test, embedded engine), see its headline and
// charts with no error, save, reopen the executed notebook and see the charts again; then nothing is left
// running (server, kernel, engine, browser).
//
// About 35 s on 2 cores (a whole tier notebook runs at SERVELAB_SIZE=test). SERVELAB_BROWSER_LAB=0 skips it.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { pidAlive } from "../../lib/engine/process_group.ts";
import { createRun } from "../../lib/run/run_dir.ts";
import { ROOT } from "../_jupyter.ts";
import { openBrowser, problemsText, watchPage } from "./chromium.ts";
import { startJupyterLab } from "./jupyterlab.ts";

const NOTEBOOK = "01_ttft.ipynb";
const LAB_ON = Deno.env.get("SERVELAB_BROWSER_LAB") !== "0";

/** Output images of the open notebook: decoded, with a natural size, from data: URLs. */
async function outputImages(page: Page) {
  return await page.evaluate(async () => {
    const out = [];
    for (const img of Array.from(document.querySelectorAll<HTMLImageElement>(".jp-OutputArea-output img"))) {
      let decoded = true;
      try {
        await img.decode();
      } catch {
        decoded = false;
      }
      out.push({
        alt: img.alt,
        data_url: img.src.startsWith("data:image/"),
        decoded,
        width: img.naturalWidth,
        height: img.naturalHeight,
      });
    }
    return out;
  });
}

async function openNotebook(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector(".jp-NotebookPanel .jp-Cell", { timeout: 60_000 });
  // The Deno kernel is the notebook's kernel and it has started: toolbar name and status idle.
  await page.waitForSelector('.jp-NotebookPanel-toolbar .jp-Toolbar-kernelName:has-text("Deno")');
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 60_000 });
}

Deno.test({
  name:
    "JupyterLab opens a tier notebook with the Deno kernel, runs it, shows its charts, and again after reopening",
  ignore: !LAB_ON,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t0 = performance.now();
    const runRoot = await Deno.makeTempDir({ prefix: "servelab-lab-run-" });
    const run = await createRun({ engine: "sim", root: runRoot, params: { size: "test" } });
    let lab: Awaited<ReturnType<typeof startJupyterLab>> | undefined;
    let leftovers: number[] = [];
    const seen: number[] = [];
    try {
      lab = await startJupyterLab({
        notebooks: [join(ROOT, "notebooks", NOTEBOOK)],
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: run.dir },
      });
      await using browser = await openBrowser({ timeout_ms: 30_000 });
      const page = await browser.context.newPage();
      const problems = watchPage(page);
      await openNotebook(page, lab.notebookUrl(NOTEBOOK));
      const kernels = lab.descendants();
      assert.ok(kernels.length >= 1, "JupyterLab started no kernel process");
      // Lab renders cells progressively: count them in the file, not in the page.
      const file = JSON.parse(await Deno.readTextFile(join(ROOT, "notebooks", NOTEBOOK)));
      const codeCells = file.cells.filter((c: { cell_type: string }) => c.cell_type === "code").length;
      await page.waitForFunction(
        (n: number) => document.querySelectorAll(".jp-NotebookPanel .jp-CodeCell").length === n,
        codeCells,
      );

      // Run every cell from the menu, as a person would.
      await page.click('.lm-MenuBar-item:has-text("Run")');
      await page.click('.lm-Menu-item[data-command="runmenu:run-all"]');
      await page.waitForFunction(
        (n: number) => {
          const prompts = Array.from(
            document.querySelectorAll(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt"),
          )
            .map((p) => p.textContent ?? "");
          const errors = document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
          );
          return errors.length > 0 || (prompts.length === n && prompts.every((p) => /\[\d+\]/.test(p)));
        },
        codeCells,
        { timeout: 120_000, polling: 250 },
      ).catch(async (err) => {
        // Say where it stopped: each code cell's prompt, the kernel status, the server's log.
        await page.screenshot({ path: join(runRoot, "lab-timeout.png") }).catch(() => {});
        const state = await page.evaluate(() => ({
          prompts: Array.from(document.querySelectorAll(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt"))
            .map((p) => (p.textContent ?? "").trim()).join(" "),
          status: document.querySelector(".jp-Notebook-ExecutionIndicator")?.getAttribute("data-status"),
        })).catch(() => undefined);
        throw new Error(
          `Run All did not finish: ${JSON.stringify(state)}; ${(err as Error).message}\n` +
            `server log:\n${lab!.log().slice(-3000)}`,
        );
      });
      await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
      seen.push(...lab.descendants());

      const errors = await page.$$eval(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
        (els) => els.map((e) => (e.textContent ?? "").slice(0, 500)),
      );
      assert.deepEqual(errors, [], "a cell failed in JupyterLab");
      // The tier measured something: requests on engines, no failed point (a failed point is not a cell error).
      const measured = await page.locator('.jp-OutputArea-output:has-text("requests on")').first()
        .textContent();
      const m = (measured ?? "").match(
        // "(N already measured, N failed)", with ", N invalid: client too slow" since the TTFT self-check.
        /(\d+) requests on (\d+) engine\(s\) \(\d+ already measured, (\d+) failed(?:, \d+ invalid[^)]*)?\)/,
      );
      assert.ok(m, `no measurement summary in the executed notebook: ${measured}`);
      assert.ok(
        Number(m[1]) > 0 && Number(m[2]) > 0 && m[3] === "0",
        `the tier did not measure: ${measured}`,
      );
      const heading = await page.locator(".jp-OutputArea-output h1").first().textContent();
      assert.match(heading ?? "", /Tier 1 .*SIMULATED/);
      const before = await outputImages(page);
      assert.ok(before.filter((i) => i.alt !== "legend").length >= 1, "the executed notebook shows no chart");
      for (const img of before) {
        assert.ok(
          img.data_url && img.decoded && img.width > 0 && img.height > 0,
          `chart ${JSON.stringify(img)}`,
        );
      }
      await page.screenshot({ path: join(runRoot, "lab-executed.png") });

      // Save, then reopen the executed notebook in a fresh page: the charts come back from the file.
      await page.keyboard.press("Control+s");
      await page.waitForFunction(() => !document.querySelector(".jp-mod-current.jp-mod-dirty"), undefined, {
        timeout: 30_000,
      });
      const savedText = await Deno.readTextFile(join(lab.root, "notebooks", NOTEBOOK));
      await Deno.writeTextFile(join(runRoot, "lab-executed.ipynb"), savedText);
      const saved = JSON.parse(savedText);
      const savedImages = saved.cells.flatMap((c: { outputs?: { data?: Record<string, unknown> }[] }) =>
        (c.outputs ?? []).filter((o) => String(o.data?.["text/html"] ?? "").includes("data:image/svg+xml"))
      );
      assert.ok(savedImages.length >= 1, "the saved notebook has no chart output");
      assert.equal(problemsText(problems), undefined, problemsText(problems));
      await page.close();

      const again = await browser.context.newPage();
      const againProblems = watchPage(again);
      await openNotebook(again, lab.notebookUrl(NOTEBOOK));
      // Cells render progressively: wait until every chart image of the saved outputs is in the page.
      await again.waitForFunction(
        (n: number) => document.querySelectorAll(".jp-OutputArea-output img").length >= n,
        before.length,
      );
      const after = await outputImages(again);
      assert.equal(after.length, before.length, "reopened: not the same number of chart images");
      for (const img of after) {
        assert.ok(
          img.data_url && img.decoded && img.width > 0 && img.height > 0,
          `reopened chart ${JSON.stringify(img)}`,
        );
      }
      await again.screenshot({ path: join(runRoot, "lab-reopened.png") });
      const chart = again.locator(".jp-OutputArea-output figure").nth(1);
      await chart.scrollIntoViewIfNeeded();
      await chart.screenshot({ path: join(runRoot, "lab-chart.png") });
      assert.equal(problemsText(againProblems), undefined, problemsText(againProblems));
      console.log(
        `  ${before.length} images, ${codeCells} code cells, ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s`,
      );
    } finally {
      if (lab) {
        seen.push(...lab.descendants());
        leftovers = await lab.stop();
      }
      const keep = Deno.env.get("SERVELAB_BROWSER_ARTIFACTS");
      if (keep) {
        await Deno.mkdir(keep, { recursive: true });
        for (
          const f of [
            "lab-executed.png",
            "lab-executed.ipynb",
            "lab-reopened.png",
            "lab-chart.png",
            "lab-timeout.png",
          ]
        ) {
          await Deno.copyFile(join(runRoot, f), join(keep, f)).catch(() => {});
        }
      }
      await Deno.remove(runRoot, { recursive: true }).catch(() => {});
    }
    assert.deepEqual(leftovers, [], "processes left running after JupyterLab stopped");
    // The kernel and the engine it launched (its own process group) are gone too.
    assert.deepEqual([...new Set(seen)].filter(pidAlive), [], "a kernel or engine outlived JupyterLab");
  },
});
