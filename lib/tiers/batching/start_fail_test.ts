import assert from "node:assert/strict";
import { labEnv } from "../lab_env.ts";
import { createRun } from "../../run/run_dir.ts";
import { tierOutcomes } from "../../run/outcome.ts";
import { measureBatching } from "./measure.ts";
import { batchingParams } from "./params.ts";

Deno.test("an engine that cannot start fails every batching point with its cause (a failed tier), then throws", async () => {
  const root = await Deno.makeTempDir({ prefix: "batching-start-" });
  try {
    const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_MODEL: "foo/bar-7b", SERVELAB_SIZE: "test" });
    const run = await createRun({ engine: "sim", root });
    await assert.rejects(measureBatching(run, lab, batchingParams("test")), /foo\/bar-7b/);
    const o = await tierOutcomes(run.dir, ["batching"]);
    assert.equal(o.batching.status, "failed");
    assert.ok(o.batching.points_failed > 0 && o.batching.points_done === 0);
    assert.match(o.batching.cause ?? "", /foo\/bar-7b/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
