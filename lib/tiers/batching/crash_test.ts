import assert from "node:assert/strict";
import { readPoint } from "../../run/points.ts";
import { createRun } from "../../run/run_dir.ts";
import { labEnv } from "../lab_env.ts";
import { BATCHING_TIER, batchingConcurrencyPlan, batchingPointCounts, measureBatching } from "./measure.ts";
import { BATCHING_PRESETS } from "./params.ts";

Deno.test({
  name:
    "an engine crash in the middle of the batching sweep fails that point; the next point runs on a new engine",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "servelab-batching-crash-" });
    try {
      const P = {
        ...BATCHING_PRESETS.test,
        concurrency: [1],
        repeats: 3,
        rate_fractions: [],
        min_requests: 4,
        output_tokens: 4,
        sample_ms: 50,
        ci_resamples: 20,
      };
      const [first] = batchingConcurrencyPlan(P);
      const c = batchingPointCounts(first, P);
      const perPoint = c.warmup + c.count + c.cooldown;
      // The tier's warm-up sends 4 requests at concurrency 1, then each point perPoint: die inside c1-r2.
      const crashAfter = 4 + perPoint + 2;
      const lab = labEnv({
        SERVELAB_ENGINE: "sim",
        SERVELAB_SIZE: "test",
        SERVELAB_ENGINE_ARGS: `--sim-crash-after-requests ${crashAfter}`,
      });
      const run = await createRun({ engine: "sim", root });
      const M = await measureBatching(run, lab, P, { progress: false });
      assert.deepEqual(M.sweeps.concurrency.done, ["c1-r1", "c1-r3"]);
      assert.deepEqual(M.sweeps.concurrency.failed.map((f) => f.id), ["c1-r2"]);
      assert.match(
        M.sweeps.concurrency.failed[0].error,
        /engine exited with code 137 during batching point c1-r2/,
      );
      for (const id of ["c1-r1", "c1-r3"]) {
        const rec = await readPoint(run, BATCHING_TIER, id);
        const row = (rec!.data as { row: Record<string, unknown> }).row;
        assert.equal(row.requests_ok, c.count, `${id}: every measured request of a finished point succeeded`);
      }
      const csv = Deno.readTextFileSync(M.files.concurrency).trim().split("\n");
      assert.equal(csv.length, 3, "concurrency_sweep.csv holds the two finished points");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
