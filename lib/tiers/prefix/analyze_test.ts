import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import {
  prefixAb,
  prefixArmSummary,
  prefixCliffCurve,
  prefixFindings,
  prefixHitRateAgreement,
  prefixNoHelpRows,
  type PrefixRequestRow,
  type PrefixRunRow,
} from "./analyze.ts";

const LABEL = "SIMULATED: embedded engine 0.11.0, H100-80GB profile, model m";

function req(o: Partial<PrefixRequestRow>): PrefixRequestRow {
  return {
    ...requestCells(),
    sweep: "length",
    point_id: "len-1024-c1",
    arm: "on",
    repeat: 0,
    concurrency: 1,
    prefix_tokens: 1024,
    family: 0,
    prefix_variant: 0,
    shares_prefix: true,
    block_size: 16,
    expected_cached_tokens: 1024,
    phase: "measure",
    ok: true,
    prompt_tokens: 1040,
    completion_tokens: 8,
    cached_tokens: 1024,
    ttft_ms: 10,
    ...o,
  };
}

function run(o: Partial<PrefixRunRow>): PrefixRunRow {
  return {
    sweep: "length",
    point_id: "len-1024-c1",
    arm: "on",
    repeat: 0,
    order: 0,
    concurrency: 1,
    prefix_tokens: 1024,
    block_size: 16,
    block_size_source: "metrics",
    pool_tokens: 100_000,
    engine_label: LABEL,
    reset_ok: true,
    n_prime: 1,
    n_measure: 3,
    n_ok: 3,
    expected_cached_tokens: 3072,
    usage_cached_tokens: 3072,
    usage_prompt_tokens: 3120,
    metric_hits_tokens: 3072,
    metric_queries_tokens: 3120,
    tolerance_tokens: 48,
    measures_agree: true,
    kv_usage_max: 0.01,
    kv_samples: 3,
    output_tokens: 8,
    output_tok_s: 100,
    client_ok: true,
    ...o,
  };
}

/** A length point: on arm hits with TTFT 10 ms, off arm misses with TTFT `off_ms`. */
function lengthPoint(prefix_tokens: number, c: number, off_ms: number, block = 16) {
  const point_id = `len-${prefix_tokens}-c${c}`;
  const hit = Math.floor(prefix_tokens / block) * block;
  const base = {
    point_id,
    prefix_tokens,
    concurrency: c,
    block_size: block,
    prompt_tokens: prefix_tokens + 16,
  };
  const requests = [
    req({ ...base, arm: "on", phase: "warmup", ttft_ms: 999, cached_tokens: 0 }),
    ...[9, 10, 11].map((t) =>
      req({ ...base, arm: "on", ttft_ms: t, cached_tokens: hit, expected_cached_tokens: hit })
    ),
    ...[off_ms - 1, off_ms, off_ms + 1].map((t) =>
      req({ ...base, arm: "off", ttft_ms: t, cached_tokens: 0, expected_cached_tokens: 0 })
    ),
    req({ ...base, arm: "off", ok: false, ttft_ms: undefined }),
  ];
  const runs = [
    run({ ...base, arm: "on", output_tok_s: 200, usage_cached_tokens: 3 * hit, metric_hits_tokens: 3 * hit }),
    run({
      ...base,
      arm: "off",
      order: 1,
      output_tok_s: 100,
      usage_cached_tokens: 0,
      metric_hits_tokens: 0,
      metric_queries_tokens: 0,
    }),
  ];
  return { requests, runs };
}

Deno.test("arm summaries use measured requests that succeeded, and the A/B divides off by on", () => {
  const { requests, runs } = lengthPoint(1024, 1, 40);
  const s = prefixArmSummary(requests, runs);
  const on = s.find((x) => x.arm === "on")!;
  const off = s.find((x) => x.arm === "off")!;
  assert.equal(on.n, 3, "the warm-up request is not measured");
  assert.equal(on.ttft_p50_ms, 10);
  assert.equal(off.n, 4);
  assert.equal(off.n_ok, 3);
  assert.equal(off.ttft_p50_ms, 40);
  assert.equal(on.usage_hit_rate, 1024 / 1040);
  assert.equal(on.metric_hit_rate, 3072 / 3120);
  assert.equal(off.usage_hit_rate, 0);
  assert.equal(off.metric_hit_rate, undefined, "caching off: no queries, no rate");
  const [ab] = prefixAb(s);
  assert.equal(ab.ttft_speedup, 4);
  assert.equal(ab.tok_s_gain, 2);
});

Deno.test("agreement counts runs and the worst difference per request", () => {
  const runs = [
    run({}),
    run({ point_id: "b", measures_agree: false, hits_diff_tokens: -96, n_measure: 3 }),
    run({ point_id: "c", measures_agree: undefined, hits_diff_tokens: undefined }),
    run({ point_id: "d", hits_diff_tokens: 16, n_measure: 4 }),
  ];
  const a = prefixHitRateAgreement(runs);
  assert.deepEqual([a.runs, a.agree, a.disagree, a.not_measured], [4, 2, 1, 1]);
  assert.equal(a.max_hits_diff_per_request, 32);
  assert.deepEqual(a.disagreements.map((r) => r.point_id), ["b"]);
});

Deno.test("the cliff is the first working set whose hit rate falls below half the expectation", () => {
  const cliff = (ws: number, got: number) => {
    const point_id = `cliff-${ws}`;
    const base = {
      sweep: "cliff" as const,
      point_id,
      working_set: ws,
      capacity_prefixes: 7,
      prompt_tokens: 540,
    };
    return {
      requests: [req({ ...base, cached_tokens: got, expected_cached_tokens: 512 })],
      runs: [run({ ...base, usage_cached_tokens: got, metric_hits_tokens: got, metric_queries_tokens: 540 })],
    };
  };
  const parts = [cliff(14, 0), cliff(4, 512), cliff(6, 496), cliff(9, 16)];
  const requests = parts.flatMap((p) => p.requests);
  const runs = parts.flatMap((p) => p.runs);
  const c = prefixCliffCurve(prefixArmSummary(requests, runs), runs);
  assert.deepEqual(c.points.map((p) => p.working_set), [4, 6, 9, 14]);
  assert.equal(c.last_warm_working_set, 6);
  assert.equal(c.cliff_working_set, 9);
  assert.equal(c.capacity_prefixes, 7);
});

Deno.test("findings name the longest prefix, the sub-block points and the caching-off hits", () => {
  const parts = [
    lengthPoint(8, 1, 10),
    lengthPoint(1024, 1, 40),
    lengthPoint(8192, 1, 300),
    lengthPoint(8192, 4, 600),
  ];
  const f = prefixFindings(parts.flatMap((p) => p.requests), parts.flatMap((p) => p.runs));
  assert.equal(f.simulated, true);
  assert.deepEqual(f.arms, ["off", "on"]);
  assert.equal(f.longest?.prefix_tokens, 8192);
  assert.deepEqual(f.longest?.rows.map((r) => r.ttft_speedup), [30, 60]);
  assert.deepEqual(f.sub_block.map((r) => r.point_id), ["len-8-c1"]);
  assert.equal(f.sub_block[0].ttft_speedup, 1);
  assert.equal(f.off_cached_tokens, 0);
  assert.equal(f.off_metric_hits, 0);
  assert.equal(f.agreement.disagree, 0);
  assert.equal(f.block_size, 16);
});

Deno.test("the no-help table lists sub-block, unique and beyond-capacity cases", () => {
  const parts = [lengthPoint(8, 1, 10), lengthPoint(1024, 1, 40)];
  const share0 = lengthPoint(2048, 4, 80);
  for (const r of [...share0.requests, ...share0.runs]) {
    Object.assign(r, { sweep: "share", point_id: "share-0", share_pct: 0 });
  }
  const cliff = {
    requests: [
      req({
        sweep: "cliff",
        point_id: "cliff-x2",
        working_set: 14,
        cached_tokens: 0,
        expected_cached_tokens: 512,
      }),
    ],
    runs: [
      run({
        sweep: "cliff",
        point_id: "cliff-x2",
        working_set: 14,
        capacity_prefixes: 7,
        usage_cached_tokens: 0,
      }),
    ],
  };
  const all = [...parts, share0, cliff];
  const rows = prefixNoHelpRows(prefixFindings(all.flatMap((p) => p.requests), all.flatMap((p) => p.runs)));
  assert.deepEqual(rows.map((r) => `${r.case}:${r.point_id}`), [
    "prefix shorter than a block:len-8-c1",
    "unique prompts:share-0",
    "working set beyond the pool:cliff-x2",
  ]);
  assert.equal(rows[2].hit_rate_on, 0);
});
