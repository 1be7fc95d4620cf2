import assert from "node:assert/strict";
import { createRun } from "../../run/run_dir.ts";
import { readPoint } from "../../run/points.ts";
import { labEnv } from "../lab_env.ts";
import { batchingFindings } from "./analyze.ts";
import {
  BATCHING_TIER,
  batchingConcurrencyPlan,
  batchingPeakRps,
  batchingPointCounts,
  batchingRatePlan,
  measureBatching,
} from "./measure.ts";
import { BATCHING_PRESETS, batchingParams } from "./params.ts";
import { readBatchingResults } from "./results.ts";
import { batchingBenchmarkMd } from "./writeup.ts";

Deno.test("the plan interleaves repeats and rates follow the measured peak", () => {
  const c = batchingConcurrencyPlan({ concurrency: [1, 8], repeats: 2 });
  assert.deepEqual(c.map((p) => p.id), ["c1-r1", "c8-r1", "c1-r2", "c8-r2"]);
  assert.deepEqual(c.map((p) => p.ordinal), [0, 1, 2, 3]);
  const r = batchingRatePlan({ rate_fractions: [0.5, 1], repeats: 2 }, 80, c.length);
  assert.deepEqual(r.map((p) => p.id), ["rate0.5-r1", "rate1-r1", "rate0.5-r2", "rate1-r2"]);
  assert.deepEqual(r.map((p) => (p.kind === "rate" ? p.target_rps : 0)), [40, 80, 40, 80]);
  assert.equal(r[0].ordinal, 4);
  assert.equal(
    batchingPeakRps([
      { concurrency: 1, throughput_rps: 10, valid: true },
      { concurrency: 8, throughput_rps: 50, valid: true },
      { concurrency: 8, throughput_rps: 70, valid: true },
      { concurrency: 8, throughput_rps: 60, valid: true },
      { concurrency: 16, throughput_rps: 999, valid: false },
    ]),
    60,
    "median of valid repeats, then the highest; invalid points never set the rates",
  );
});

Deno.test("point counts: warm-up, measured and cool-down per point, with a clear cap", () => {
  const P = BATCHING_PRESETS.default;
  const [c64] = batchingConcurrencyPlan({ concurrency: [64], repeats: 1 });
  assert.deepEqual(batchingPointCounts(c64, P), { warmup: 64, count: 128, cooldown: 64 });
  const [r] = batchingRatePlan({ rate_fractions: [1], repeats: 1 }, 100, 0);
  assert.deepEqual(batchingPointCounts(r, P), { warmup: 20, count: 100, cooldown: 25 });
  const [huge] = batchingConcurrencyPlan({ concurrency: [10_000], repeats: 1 });
  assert.throws(() => batchingPointCounts(huge, P), /would send 40000 requests, more than 20000/);
});

Deno.test("batchingParams reads SERVELAB_BATCHING_* and names the variable in errors", () => {
  const P = batchingParams("test", {
    SERVELAB_BATCHING_CONCURRENCY: "2,8,32",
    SERVELAB_BATCHING_SLO_TTFT_MS: "500",
  });
  assert.deepEqual(P.concurrency, [2, 8, 32]);
  assert.equal(P.slo_ttft_ms, 500);
  assert.equal(P.repeats, BATCHING_PRESETS.test.repeats);
  assert.throws(
    () => batchingParams("default", { SERVELAB_BATCHING_CONCURRENCY: "8,4" }),
    /SERVELAB_BATCHING_CONCURRENCY='8,4' is not valid: must be strictly ascending.*It takes closed-loop .*comma-separated .*e\.g\. 1,2,4.*Fix it or unset it\./,
  );
  assert.throws(
    () => batchingParams("default", { SERVELAB_BATCHING_REPEATS: "two" }),
    /SERVELAB_BATCHING_REPEATS='two' is not valid: expected a number\. It takes repeats .*e\.g\. 3\)\. Fix it or unset it\./,
  );
});

Deno.test({
  name:
    "on the embedded engine: interleaved repeats, parts excluded, batching raises throughput, reruns resume",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir({ prefix: "servelab-batching-" });
    try {
      const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" });
      const P = {
        ...BATCHING_PRESETS.test,
        concurrency: [1, 8],
        rate_fractions: [0.5],
        min_requests: 6,
        rate_duration_s: 0.3,
        rate_warmup_s: 0.05,
        rate_cooldown_s: 0.05,
        sample_ms: 50,
        ci_resamples: 50,
        // This test is about the sweep's mechanics, not validity: on a loaded machine (a CI host running the
        // whole suite) the client's lag can make every concurrency point invalid, and the rate sweep then has
        // no throughput to take its rates from. Validity is tested in point_row_test.ts.
        max_client_lag_ms: 1000,
        max_engine_lateness_ms: 1000,
        min_inflight_fraction: 0.01,
      };
      const run = await createRun({ engine: "sim", root });
      const M = await measureBatching(run, lab, P, { progress: false });
      assert.match(M.engine_label, /^SIMULATED/);
      assert.deepEqual(M.sweeps.concurrency.done, ["c1-r1", "c8-r1", "c1-r2", "c8-r2"]);
      assert.deepEqual(M.sweeps.rate?.done, ["rate0.5-r1", "rate0.5-r2"]);

      const finished = await Promise.all(
        ["c1-r1", "c8-r1", "c1-r2", "c8-r2"].map(async (id) =>
          (await readPoint(run, BATCHING_TIER, id))!.finished_at
        ),
      );
      assert.deepEqual(
        [...finished].sort(),
        finished,
        "repeat 1 of every point finishes before repeat 2 of any",
      );

      const R = await readBatchingResults(run);
      assert.equal(R.points.length, 6);
      const c8 = R.points.filter((r) => r.concurrency === 8);
      const c1 = R.points.filter((r) => r.concurrency === 1);
      assert.ok(c8.every((r) => r.requests_sent === 8), "max(6, 1 x 8) measured requests per point");
      const parts = R.requests.filter((q) => q.point_id === "c8-r1").map((q) => q.part);
      assert.deepEqual(
        [
          parts.filter((p) => p === "warmup").length,
          parts.filter((p) => p === "measure").length,
          parts.filter((p) => p === "cooldown").length,
        ],
        [8, 8, 8],
      );
      const x = (rows: typeof c1) => Math.max(...rows.map((r) => r.throughput_rps ?? 0));
      assert.ok(
        x(c8) > 3 * x(c1),
        `8 in flight should serve well over 3x one at a time: ${x(c8)} vs ${x(c1)}`,
      );
      assert.ok(
        R.server.some((s) => s.point_id === "c8-r1" && (s.running ?? 0) > 0),
        "the sampler saw the batch",
      );

      const F = batchingFindings(R.points, R.requests, P);
      assert.equal(F.concurrency.length, 2);
      assert.ok(
        F.concurrency[1].latency.ttft_ms[95].lo !== undefined,
        "a confidence interval per percentile",
      );
      const text = batchingBenchmarkMd({
        run_id: run.id,
        measurement: M,
        findings: F,
        params: P,
        size: "test",
      });
      assert.match(text, /^# Batching under concurrency — benchmark \(SIMULATED\)/);

      const again = await measureBatching(run, lab, P, { progress: false });
      assert.equal(again.sweeps.concurrency.done.length, 0);
      assert.equal(
        again.sweeps.concurrency.skipped.length,
        4,
        "a rerun resumes: finished points are skipped",
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
