// The real thing: notebooks/05_writeup.ipynb executed by the lab's runner on the fixture run, then the run's
// index written as `./servelab run` does; every number of both pages must trace to a CSV. Needs Jupyter
// (./servelab setup installs it); about ten seconds.
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeRunIndex } from "./run_index.ts";
import { openRun } from "../run/run_dir.ts";
import { ROOT, runNotebooks } from "../../tools/_jupyter.ts";
import { fixtureRun } from "./_fixture.ts";
import { traceRunDir } from "./trace.ts";

Deno.test({
  name: "05_writeup run on a run folder writes a page whose every number traces to a CSV",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using run = await fixtureRun();
    const r = await runNotebooks([join(ROOT, "notebooks", "05_writeup.ipynb")], {
      out: run.dir,
      env: { SERVELAB_RUN_DIR: run.dir, SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" },
      quiet: true,
    });
    assert.equal(r.code, 0, `the notebook failed:\n${r.output.slice(-3000)}`);
    await writeRunIndex(await openRun(run.dir));
    const html = await Deno.readTextFile(join(run.dir, "05_writeup.html"));
    assert.match(html, /<title>[^<]*SIMULATED[^<]*<\/title>/);
    assert.ok((html.match(/class="fact"/g) ?? []).length > 50, "the page shows its numbers as facts");
    for (const f of ["facts.json", "thresholds.json", "grafana-dashboard.json"]) {
      assert.ok((await Deno.stat(join(run.dir, f))).isFile, `${f} written`);
    }
    assert.deepEqual(await traceRunDir(run.dir), []);
  },
});
