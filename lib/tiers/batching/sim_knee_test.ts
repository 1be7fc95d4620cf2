/**
 * The knee and the sweet spot found and explained on a concurrency sweep measured on the embedded
 * engine (SIMULATED), through the tier's own path from records to write-up: the batching workload, the
 * per point-and-repeat row (`batchingPointRow`), the CSVs' schemas, `batchingFindings` (knee and sweet
 * spot) and `batchingBenchmarkMd`.
 *
 * The sweep runs on the engine's virtual-time face (`simulate` in lib/sim): the same scheduler, memory
 * plan and step-time model the real-time server uses, on a virtual clock. So it takes seconds, not the
 * minutes of the real-time sweep, gives the same numbers on every machine, and has no client whose lag
 * could mark a point invalid (that check is the real-time measurement's, pinned in measure_test.ts).
 * @module
 */
import assert from "node:assert/strict";
import type { ProbeRequest, RequestRecord } from "../../probe/types.ts";
import type { SelfCheck } from "../../probe/load.ts";
import { parseCsv, toCsv } from "../../run/csv.ts";
import type { MetricsSample } from "../../scrape/sampler.ts";
import { buildServeArgs } from "../../engine/argv.ts";
import { parseServeConfig } from "../../engine/config.ts";
import { type SimRecord, simulate } from "../../sim/simulate.ts";
import { syntheticTokenIds } from "../../sim/tokenizer.ts";
import { DEFAULT_MODEL, engineLabel } from "../lab_env.ts";
import { batchingFindings } from "./analyze.ts";
import { batchingGainPerDoubling } from "./knee.ts";
import { batchingConcurrencyPlan, batchingPointCounts } from "./measure.ts";
import { BATCHING_PRESETS } from "./params.ts";
import {
  BATCHING_POINT_COLUMNS,
  BATCHING_REQUEST_COLUMNS,
  batchingPart,
  type BatchingPoint,
  BatchingPointRow,
  batchingPointRow,
  BatchingRequestRow,
  batchingRequestRow,
} from "./point_row.ts";
import { batchingWorkloadFrom } from "./workload.ts";
import { batchingBenchmarkMd } from "./writeup.ts";

/** The tier's engine on the embedded engine: the default model on the default GPU profile. */
const cfg = parseServeConfig({ engine: "sim", model: DEFAULT_MODEL, seed: 0 }, "sim knee test config");
/** The lesson's own parameters: the default sweep 1..256, its repeats, SLO and knee threshold. */
const P = BATCHING_PRESETS.default;

/** Virtual time has no client: its self-check is passed by construction and says why. */
function noClient(c: number): SelfCheck {
  const none = { n: 0 };
  return {
    event_loop_lag: none,
    send_lag: none,
    dispatch_lag: none,
    max_in_flight: c,
    threshold_p99_ms: P.max_client_lag_ms,
    client_ok: true,
    reason: "virtual time: no client to lag",
  };
}

/** A simulated request as the probe would have recorded it (no network: sent = arrived). */
function toRecord(s: SimRecord, part: string): RequestRecord {
  return {
    request_id: s.request_id,
    endpoint: "completions",
    index: s.index,
    phase: part === "warmup" ? "warmup" : "measure",
    ok: s.finish_reason !== "abort",
    t_intended_ms: s.intended_ms,
    t_send_ms: s.arrival_ms,
    t_headers_ms: s.arrival_ms,
    t_first_event_ms: s.first_token_ms,
    t_first_choice_ms: s.first_token_ms,
    t_first_content_ms: s.first_token_ms,
    t_end_ms: s.end_ms,
    chunk_ms: s.token_ms,
    prompt_tokens: s.prompt_tokens,
    completion_tokens: s.completion_tokens,
    cached_tokens: s.cached_tokens,
    finish_reason: s.finish_reason,
    output_chars: 0,
    tags: { part },
  };
}

/** One point and repeat of the concurrency sweep, measured in virtual time. */
function simulatePoint(point: BatchingPoint, source: (i: number) => ProbeRequest) {
  if (point.kind !== "concurrency") throw new Error(`Only concurrency points here, got ${point.id}.`);
  const { warmup, count, cooldown } = batchingPointCounts(point, P);
  const total = warmup + count + cooldown;
  const parts = Array.from({ length: total }, (_, i) => batchingPart(i, warmup, count));
  const requests = Array.from({ length: total }, (_, i) => {
    const q = source(i);
    return {
      id: `${point.id}-${i}`,
      prompt_ids: q.prompt as number[],
      max_tokens: q.max_tokens!,
      min_tokens: q.min_tokens,
      ignore_eos: q.ignore_eos,
    };
  });
  // Warm engine (the tier warms it before its sweeps); the server sampled as often as the tier does.
  const r = simulate(cfg, { requests, load: { kind: "concurrency", n: point.concurrency } }, {
    cold: false,
    sample_every_ms: P.sample_ms,
  });
  const records = r.records.map((s) => toRecord(s, parts[s.index]));
  const samples: MetricsSample[] = r.series.map((s) => ({
    t_ms: s.t_ms,
    running: s.running,
    waiting: s.waiting,
    kv_usage: s.kv_usage,
    preemptions_total: s.preemptions_total,
  }));
  return { records, samples, self_check: noClient(point.concurrency) };
}

/** Batching must buy at least this much request throughput from c=1 to the knee (stated, not fitted). */
const MIN_BATCHING_GAIN = 4;
/** Little's law (in flight = throughput x mean E2E) holds within this (%) up to the knee: steady state. */
const MAX_LITTLE_DEV_PCT = 10;

/** The sweep: every point and repeat of the lesson's plan, measured in virtual time, read back as CSV. */
function measureSweep() {
  const base = syntheticTokenIds(P.prompt_tokens + 64, 4_000);
  const workload = batchingWorkloadFrom(cfg.model, base, { ...P, seed: 0 });
  const pointCsv: string[] = [];
  const requestCsv: string[] = [];
  for (const point of batchingConcurrencyPlan(P)) {
    const { records, samples, self_check } = simulatePoint(point, workload.source(point.ordinal));
    const row = batchingPointRow({ point, records, self_check, samples, params: P });
    pointCsv.push(toCsv([row], BATCHING_POINT_COLUMNS));
    requestCsv.push(toCsv(records.map((r) => batchingRequestRow(r, point)), BATCHING_REQUEST_COLUMNS));
  }
  // Through the CSVs' schemas, as the notebook reads them back.
  return {
    points: pointCsv.flatMap((t) => parseCsv(t, BatchingPointRow)),
    requests: requestCsv.flatMap((t) => parseCsv(t, BatchingRequestRow)),
  };
}

Deno.test("on the embedded engine (virtual time) the knee and the sweet spot are found and explained", () => {
  const t0 = performance.now();
  const R = measureSweep();
  const F = batchingFindings(R.points, R.requests, P);
  const elapsed_s = (performance.now() - t0) / 1000;

  // Every point usable: no client to lag, no request failed, every slot kept busy.
  assert.deepEqual(F.invalid, [], "no invalid point in virtual time");
  assert.deepEqual(F.concurrency.map((s) => s.concurrency), P.concurrency);
  const at = (c: number) => F.concurrency.find((s) => s.concurrency === c)!;
  const c = P.concurrency;
  const X = c.map((x) => at(x).throughput_rps!);
  assert.ok(X.every((x) => x > 0), `a throughput at every point: ${X.join(", ")}`);

  // Found: a knee inside the sweep, where the stated rule puts it (recomputed from the medians here).
  assert.equal(F.knee.kind, "knee", F.knee.reason);
  if (F.knee.kind !== "knee") return;
  const K = F.knee.concurrency;
  const k = c.indexOf(K);
  assert.ok(k >= 0 && k < c.length - 1, `the knee c=${K} lies inside the sweep ${c.join(",")}`);
  const g = (i: number, j: number) => batchingGainPerDoubling(c[i], X[i], c[j], X[j]);
  for (let j = k + 1; j < c.length; j++) {
    assert.ok(g(k, j) < P.knee_gain, `past the knee c=${K}, c=${c[j]} gains ${g(k, j)} per doubling`);
  }
  for (let i = 0; i < k; i++) {
    const j = c.findIndex((_, j) => j > i && g(i, j) >= P.knee_gain);
    assert.ok(j > i, `below the knee, c=${c[i]} still has a doubling gaining ${P.knee_gain} or more`);
  }
  for (const r of F.knee_by_repeat) {
    assert.ok(
      r.concurrency !== undefined && Math.abs(Math.log2(r.concurrency / K)) <= 1,
      `repeat ${r.repeat}'s knee (c=${r.concurrency}) within one doubling of c=${K}`,
    );
  }

  // What the knee bought and what past it costs.
  assert.ok(
    X[k] > MIN_BATCHING_GAIN * X[0],
    `throughput at the knee (${X[k]} req/s) over ${MIN_BATCHING_GAIN}x that at c=${c[0]} (${X[0]} req/s)`,
  );
  const lo = at(c[0]).latency, knee = at(K).latency, hi = at(c[c.length - 1]).latency;
  for (const m of ["ttft_ms", "itl_ms", "tpot_ms"] as const) {
    assert.ok(hi[m][95].value! > lo[m][95].value!, `p95 ${m} at c=${c[c.length - 1]} above c=${c[0]}'s`);
  }
  const xGrowth = X[c.length - 1] / X[k];
  const tpotGrowth = hi.tpot_ms[95].value! / knee.tpot_ms[95].value!;
  assert.ok(
    tpotGrowth > 2 * xGrowth,
    `past the knee concurrency turns into latency: p95 TPOT x${tpotGrowth}, throughput x${xGrowth}`,
  );
  for (const s of F.concurrency.filter((s) => s.concurrency! <= K)) {
    assert.ok(
      Math.abs(s.little_dev_pct!) < MAX_LITTLE_DEV_PCT,
      `Little's law at c=${s.concurrency}: ${s.little_dev_pct}%`,
    );
  }

  // Found: the sweet spot, the highest concurrency meeting the SLO from the bottom up, capped at the knee.
  assert.equal(F.sweet.kind, "sweet_spot", F.sweet.reason);
  if (F.sweet.kind !== "sweet_spot") return;
  const S = F.sweet.concurrency;
  const meets = (x: number) =>
    at(x).latency.ttft_ms[95].value! <= P.slo_ttft_ms && at(x).latency.tpot_ms[95].value! <= P.slo_tpot_ms;
  const broken = c.findIndex((x) => !meets(x));
  const sloLimit = broken < 0 ? c[c.length - 1] : c[broken - 1];
  assert.ok(sloLimit !== undefined, "c=1 meets the SLO on this profile");
  assert.equal(F.sweet.slo_limit, sloLimit);
  assert.equal(S, Math.max(...c.filter((x) => x <= Math.min(K, sloLimit))));
  assert.ok(S <= K && meets(S), `the sweet spot c=${S} is at or below the knee c=${K} and meets the SLO`);
  assert.equal(F.sweet.bound, sloLimit >= K ? "knee" : "slo");
  assert.ok(F.sweet.range.lo <= S && S <= F.sweet.range.hi, `range ${F.sweet.range.lo}..${F.sweet.range.hi}`);
  assert.ok(meets(F.sweet.range.hi), `the range's top c=${F.sweet.range.hi} meets the SLO`);

  // Explained: the reasons and batching_benchmark.md name the knee, the sweet spot and the rules.
  const rule = `no doubling gains +${(100 * P.knee_gain).toFixed(0)}% or more`;
  assert.match(F.knee.reason, new RegExp(`Up to c=${K} throughput grows`));
  assert.ok(F.knee.reason.includes(rule), F.knee.reason);
  assert.ok(F.knee.reason.includes(`(c=${c[k + 1]}: `), F.knee.reason);
  assert.ok(F.sweet.reason.includes(`c=${S}`), F.sweet.reason);
  assert.ok(F.sweet.reason.includes(`SLO: p95 TTFT <= ${P.slo_ttft_ms} ms`), F.sweet.reason);
  const text = batchingBenchmarkMd({
    run_id: "sim-virtual-time",
    measurement: {
      engine_label: engineLabel(cfg),
      engine_kind: "sim",
      serve_args: buildServeArgs(cfg),
      peak_rps: F.peak?.throughput_rps,
      rate_skipped: "this test measures the concurrency sweep only",
      elapsed_s,
      config: cfg,
    },
    findings: F,
    params: P,
    size: "default",
  });
  assert.match(text, /^# Batching under concurrency — benchmark \(SIMULATED\)/);
  assert.ok(text.includes(`- **Knee:** c=${K}. ${F.knee.reason}`), "the knee and its reason in Key numbers");
  assert.ok(
    text.includes(`- **Sweet spot:** c=${S} (range ${F.sweet.range.lo}–${F.sweet.range.hi}; set by `),
    "the sweet spot and its range in Key numbers",
  );
  assert.ok(
    text.includes(
      `Knee rule: the lowest concurrency from which no further doubling gains ${100 * P.knee_gain}%`,
    ),
    "the knee rule stated in Method",
  );
  assert.ok(text.includes(`should work on about ${S} requests at a time`), "the product owner's sentence");
  assert.ok(
    text.includes(`From c=${c[0]} to c=${K} throughput grows`),
    "the observation on what batching bought",
  );
});
