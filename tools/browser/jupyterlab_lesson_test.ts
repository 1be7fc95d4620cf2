// Issue 17: the four tier notebooks teach in JupyterLab, in a real browser: each runs to the end (embedded
// engine, SERVELAB_SIZE=test) with its Predict cell, the launch shown, the openai SDK request beside the probe,
// the polars table checked against lib ("Agrees with lib"), its teaching chart and "Check your learning"; the
// batching notebook's continuous-batching timeline is an image that decodes, drawn from the run's CSV.
//
// About 2-3 minutes on 2 cores (four notebooks). SERVELAB_BROWSER_LAB=0 skips it.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { pidAlive } from "../../lib/engine/process_group.ts";
import { createRun } from "../../lib/run/run_dir.ts";
import { ROOT } from "../_jupyter.ts";
import { openBrowser, problemsText, watchPage } from "./chromium.ts";
import { startJupyterLab } from "./jupyterlab.ts";

const LAB_ON = Deno.env.get("SERVELAB_BROWSER_LAB") !== "0";

/** What each notebook must show, beyond running without an error: texts, and chart titles whose image decodes. */
const NOTEBOOKS: { name: string; texts: RegExp[]; charts: RegExp[] }[] = [
  { name: "01_ttft.ipynb", texts: [], charts: [/Warm-up curve/] },
  { name: "02_prefix_caching.ipynb", texts: [], charts: [/prompt as KV blocks/] },
  { name: "03_kv_scaling.ipynb", texts: [], charts: [/KV pool as blocks/] },
  {
    name: "04_batching.ipynb",
    texts: [/gauge samples/],
    charts: [/Continuous batching at concurrency/, /engine's batch/],
  },
];

/** Every notebook's lesson: the cells issue 17 added, by what they show. */
const LESSON_TEXTS = [
  /No guesses were written in the Predict cell/, // the predictions, from the Predict cell's empty guesses
  /\$ vllm serve /, // the launch: the exact argv
  /Ready after \d+\.\d\d s/, // the launch: ready
  /openai SDK: create\(\) to the first chunk/, // the openai request
  /send -> first non-empty text \(its ttft_ms\)/, // the probe beside it
  // The polars table checked against lib (on a loaded machine every TTFT launch may fail the client self-check:
  // then neither side has a number, and the cell says so).
  /Agrees with lib: \d+ values?|Nothing measured on either side/,
  /Check your learning/,
];

async function runAll(page: Page, url: string, codeCells: number): Promise<void> {
  await page.goto(url);
  await page.waitForSelector(".jp-NotebookPanel .jp-Cell", { timeout: 60_000 });
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', { timeout: 60_000 });
  await page.waitForFunction(
    (n: number) => document.querySelectorAll(".jp-NotebookPanel .jp-CodeCell").length === n,
    codeCells,
  );
  await page.click('.lm-MenuBar-item:has-text("Run")');
  await page.click('.lm-Menu-item[data-command="runmenu:run-all"]');
  await page.waitForFunction(
    (n: number) => {
      const prompts = Array.from(document.querySelectorAll(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt"))
        .map((p) => p.textContent ?? "");
      const errors = document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
      );
      return errors.length > 0 || (prompts.length === n && prompts.every((p) => /\[\d+\]/.test(p)));
    },
    codeCells,
    { timeout: 180_000, polling: 250 },
  );
  await page.waitForSelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
}

Deno.test({
  name:
    "JupyterLab runs the four tier notebooks with their lesson cells; the batching timeline image decodes",
  ignore: !LAB_ON,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t0 = performance.now();
    const runRoot = await Deno.makeTempDir({ prefix: "servelab-lab-lesson-" });
    const run = await createRun({ engine: "sim", root: runRoot, params: { size: "test" } });
    let lab: Awaited<ReturnType<typeof startJupyterLab>> | undefined;
    let leftovers: number[] = [];
    const seen: number[] = [];
    try {
      lab = await startJupyterLab({
        notebooks: NOTEBOOKS.map((n) => join(ROOT, "notebooks", n.name)),
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: run.dir },
      });
      await using browser = await openBrowser({ timeout_ms: 30_000 });
      for (const nb of NOTEBOOKS) {
        const page = await browser.context.newPage();
        const problems = watchPage(page);
        const file = JSON.parse(await Deno.readTextFile(join(ROOT, "notebooks", nb.name)));
        const codeCells = file.cells.filter((c: { cell_type: string }) => c.cell_type === "code").length;
        // `reset`: a fresh workspace, so only this notebook is open (the previous one would be restored too).
        await runAll(page, `${lab.notebookUrl(nb.name)}&reset`, codeCells).catch(async (err) => {
          await page.screenshot({ path: join(runRoot, `lab-${nb.name}.png`) }).catch(() => {});
          throw new Error(
            `${nb.name}: Run All did not finish: ${(err as Error).message}\n${lab!.log().slice(-2000)}`,
          );
        });
        seen.push(...lab.descendants());
        const errors = await page.$$eval(
          '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
          (els) => els.map((e) => (e.textContent ?? "").slice(0, 800)),
        );
        assert.deepEqual(errors, [], `${nb.name}: a cell failed in JupyterLab`);
        const text = (await page.$$eval(".jp-OutputArea-output", (els) =>
          els.map((e) => e.textContent ?? "")))
          .join("\n");
        for (const re of [...LESSON_TEXTS, ...nb.texts]) assert.match(text, re, `${nb.name}: ${re}`);
        const images = await page.evaluate(async () => {
          const out = [];
          for (const fig of Array.from(document.querySelectorAll(".jp-OutputArea-output figure"))) {
            const title = fig.querySelector("div")?.textContent ?? "";
            for (const img of Array.from(fig.querySelectorAll("img"))) {
              let decoded = true;
              try {
                await img.decode();
              } catch {
                decoded = false;
              }
              out.push({ title, alt: img.alt, decoded, width: img.naturalWidth, height: img.naturalHeight });
            }
          }
          return out;
        });
        for (const want of nb.charts) {
          const imgs = images.filter((i) => want.test(i.title) && i.alt !== "legend");
          assert.ok(
            imgs.length >= 1,
            `${nb.name}: no chart titled ${want} among ${images.map((i) => i.title)}`,
          );
          for (const i of imgs) {
            assert.ok(i.decoded && i.width > 0 && i.height > 0, `${nb.name}: ${JSON.stringify(i)}`);
          }
        }
        assert.equal(problemsText(problems), undefined, problemsText(problems));
        if (nb.name.startsWith("04")) {
          await page.screenshot({ path: join(runRoot, "lab-batching.png"), fullPage: true });
        }
        await page.close();
      }
      console.log(`  4 notebooks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      if (lab) {
        seen.push(...lab.descendants());
        leftovers = await lab.stop();
      }
      const keep = Deno.env.get("SERVELAB_BROWSER_ARTIFACTS");
      if (keep) {
        await Deno.mkdir(keep, { recursive: true });
        for await (const e of Deno.readDir(runRoot)) {
          if (e.name.endsWith(".png")) {
            await Deno.copyFile(join(runRoot, e.name), join(keep, e.name)).catch(() => {});
          }
        }
      }
      await Deno.remove(runRoot, { recursive: true }).catch(() => {});
    }
    assert.deepEqual(leftovers, [], "processes left running after JupyterLab stopped");
    assert.deepEqual([...new Set(seen)].filter(pidAlive), [], "a kernel or engine outlived JupyterLab");
  },
});
