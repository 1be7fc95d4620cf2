import assert from "node:assert/strict";
import {
  kvBytesPerTokenCheck,
  kvConcurrencySlope,
  kvLoadVerdict,
  kvMemoryTrend,
  kvOneOverLLine,
  kvPlannerAgreement,
  kvPoolSteps,
  kvUtilTrend,
} from "./analyze.ts";
import type { KvLoadRow, KvRow } from "./rows.ts";

const GiB = 2 ** 30;
const BPT = 28672;

/** A started sweep row on a fixed pool of `blocks` blocks of 16 (synthetic, not a measurement). */
function sweepRow(L: number, blocks: number, extra: Partial<KvRow> = {}): KvRow {
  const pool = blocks * 16;
  const avail = Math.round(pool * BPT / GiB * 100) / 100;
  return {
    point_id: `L${L}`,
    role: "sweep",
    engine: "sim",
    max_model_len: L,
    started: true,
    num_gpu_blocks: blocks,
    block_size: 16,
    pool_tokens: pool,
    kv_cache_tokens: pool,
    max_concurrency: Math.round(blocks / Math.ceil(L / 16) * 100) / 100,
    available_kv_gib: avail,
    weights_gib: 2.88,
    non_kv_gib: 4.16,
    gpu_mem_used_gib: 2.88 + avail,
    gpu_mem_source: "engine_log",
    kv_bytes_per_token_measured: avail * GiB / pool,
    kv_bytes_per_token_computed: BPT,
    ...extra,
  };
}

Deno.test("a fixed pool gives a log-log concurrency slope of -1 and flat memory", () => {
  const rows = [1024, 2048, 4096, 8192, 32768].map((L) => sweepRow(L, 157073));
  const fit = kvConcurrencySlope(rows)!;
  assert.ok(Math.abs(fit.slope + 1) < 1e-3, `slope ${fit.slope}`);
  assert.ok(fit.r2 > 0.9999);
  const t = kvMemoryTrend(rows);
  assert.equal(t.memory?.flat, true);
  assert.equal(t.pool?.spread_pct, 0);
  assert.deepEqual(kvPoolSteps(rows), []);
  const line = kvOneOverLLine(rows);
  assert.equal(line.length, 5);
  assert.ok(Math.abs(line[4].max_concurrency - rows[4].max_concurrency!) < 0.05);
});

Deno.test("a pool that shrinks with max-model-len is not flat, and the step names the non-KV change", () => {
  const rows = [
    sweepRow(1024, 157073),
    sweepRow(4096, 157073),
    sweepRow(16384, 150000, { non_kv_gib: 4.16 + 7073 * 16 * BPT / GiB }),
  ];
  const t = kvMemoryTrend(rows);
  assert.equal(t.pool?.flat, false);
  const steps = kvPoolSteps(rows);
  assert.equal(steps.length, 1);
  assert.equal(steps[0].from_len, 4096);
  assert.equal(steps[0].to_len, 16384);
  assert.match(steps[0].cause, /^non-KV memory changed by 3\.\d\d GiB/);
  assert.notEqual(Math.round(kvConcurrencySlope(rows)!.slope * 1000), -1000);
});

Deno.test("bytes per token: block flooring and log rounding explain a small excess, not a large one", () => {
  const ok = kvBytesPerTokenCheck(sweepRow(4096, 157073))!;
  assert.equal(ok.explained, true);
  assert.ok(Math.abs(ok.diff_pct!) < 0.01);
  assert.equal(ok.usable_tokens, (157073 - 1) * 16, "the null block is not usable");
  const off = sweepRow(4096, 157073, { available_kv_gib: 70 });
  const bad = kvBytesPerTokenCheck({ ...off, kv_bytes_per_token_measured: 70 * GiB / off.pool_tokens! })!;
  assert.equal(bad.explained, false);
  assert.equal(kvBytesPerTokenCheck({ ...off, available_kv_gib: undefined }), undefined);
});

Deno.test("the pool against utilization has the device's memory as slope", () => {
  const total = 79.19;
  const at = (u: number, role: KvRow["role"]) => {
    const avail = total * u - 4.16;
    return sweepRow(4096, Math.floor(avail * GiB / (16 * BPT)), {
      role,
      point_id: `u${u}`,
      gpu_memory_utilization_used: u,
      available_kv_gib: avail,
      device_total_gib: total,
    });
  };
  const t = kvUtilTrend([at(0.9, "sweep"), at(0.5, "util"), at(0.7, "util"), sweepRow(1024, 1)])!;
  assert.equal(t.n, 3);
  assert.ok(Math.abs(t.slope_gib_per_util - total) < 1e-6);
  assert.equal(kvUtilTrend([at(0.9, "sweep")]), undefined, "no util points: no trend");
});

function loadRow(n: number, limited: boolean, predicted = 4): KvLoadRow {
  return {
    step: n,
    concurrent: n,
    request_tokens: 4096,
    prompt_tokens: 4032,
    max_tokens: 64,
    num_gpu_blocks: 1153,
    block_size: 16,
    predicted_max_concurrent: predicted,
    requests_ok: n,
    requests_failed: 0,
    running_max: limited ? predicted : n,
    waiting_max: limited ? n - predicted : 0,
    preemptions: 0,
    limited,
  };
}

Deno.test("the load verdict agrees only when the onset is at predicted + 1 and both sides were seen", () => {
  const v = kvLoadVerdict([loadRow(3, false), loadRow(4, false), loadRow(5, true), loadRow(6, true)])!;
  assert.deepEqual([v.onset, v.largest_clean, v.agrees], [5, 4, true]);
  assert.equal(
    kvLoadVerdict([loadRow(3, false), loadRow(4, true), loadRow(5, true)])!.agrees,
    false,
    "early onset",
  );
  assert.equal(
    kvLoadVerdict([loadRow(3, false), loadRow(4, false)])!.agrees,
    false,
    "never above the prediction",
  );
  assert.equal(kvLoadVerdict([]), undefined);
});

Deno.test("planner agreement flags differing tokens and fit outcomes", () => {
  const a = sweepRow(4096, 100, {
    planner_gpu: "H100-80GB",
    planned_kv_cache_tokens: 1600,
    planned_max_concurrency: 0.39,
  });
  const b = sweepRow(8192, 100, { planner_gpu: "H100-80GB", planned_kv_cache_tokens: 1700 });
  const c: KvRow = {
    ...sweepRow(32768, 100),
    point_id: "fit",
    started: false,
    fit_error_kind: "kv_fit",
    planner_gpu: "H100-80GB",
  };
  const agreement = kvPlannerAgreement([a, b, c, sweepRow(1024, 100)]);
  assert.equal(agreement.compared, 3);
  assert.equal(agreement.agree, 1);
  assert.deepEqual(agreement.mismatches.map((m) => m.point_id), ["L8192", "fit"]);
  assert.match(agreement.mismatches[1].what, /fit: measured kv_fit, planned starts/);
});
