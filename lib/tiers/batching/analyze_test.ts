import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import {
  BATCHING_SUMMARY_COLUMNS,
  batchingFindings,
  batchingParseGaps,
  batchingSummaryRows,
} from "./analyze.ts";
import { BATCHING_PRESETS } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow } from "./point_row.ts";

const P = { ...BATCHING_PRESETS.test, ci_resamples: 100, knee_gain: 0.2, slo_ttft_ms: 200, slo_tpot_ms: 25 };
const C = [1, 2, 4, 8, 16, 32, 64];
/** Saturating throughput 400 c / (c + 10); TTFT 20 + 2c ms; TPOT 3 + c / 4 ms. */
const X = (c: number) => 400 * c / (c + 10);

function pointRow(c: number, repeat: number, valid = true, scale = 1): BatchingPointRow {
  return {
    point_id: `c${c}-r${repeat}`,
    sweep: "concurrency",
    repeat,
    concurrency: c,
    latency_from: "send",
    requests_sent: 20,
    requests_ok: 20,
    requests_failed: 0,
    throughput_rps: X(c) * scale,
    inflight_mean: c,
    little_inflight: c * 1.02,
    little_dev_pct: 2,
    server_samples: 3,
    server_waiting_max: c >= 32 ? 3 : 0,
    valid,
    invalid_reason: valid ? undefined : "client too slow (event-loop lag p99 40 ms; limit 15 ms)",
  };
}

function requests(c: number, repeat: number): BatchingRequestRow[] {
  return Array.from({ length: 20 }, (_, i) => {
    const ttft = 20 + 2 * c + (i % 5);
    const tpot = 3 + c / 4 + (i % 3) * 0.1;
    return {
      ...requestCells(),
      point_id: `c${c}-r${repeat}`,
      sweep: "concurrency" as const,
      repeat,
      part: "measure" as const,
      ok: true,
      ttft_ms: ttft,
      ttft_from_intended_ms: ttft + 1000, // a closed loop measures from the send: this must not be used
      tpot_ms: tpot,
      e2e_ms: ttft + 15 * tpot,
      e2e_from_intended_ms: ttft + 15 * tpot + 1000,
      queue_delay_ms: 0.2,
      itl_gaps_ms: Array.from({ length: 15 }, () => tpot.toFixed(2)).join(" "),
    };
  });
}

const rows = C.flatMap((c) => [1, 2, 3].map((r) => pointRow(c, r)));
const reqs = C.flatMap((c) => [1, 2, 3].flatMap((r) => requests(c, r)));

Deno.test("findings: median throughput, pooled percentiles with intervals, knee and sweet spot", () => {
  const F = batchingFindings(rows, reqs, P);
  assert.equal(F.concurrency.length, C.length);
  const c16 = F.concurrency.find((s) => s.concurrency === 16)!;
  assert.equal(c16.throughput_rps, X(16));
  const t95 = c16.latency.ttft_ms[95];
  assert.equal(t95.n, 60, "three repeats of 20 requests pooled");
  assert.ok(t95.value! >= 52 && t95.value! <= 56, `TTFT from the send, not the intended time: ${t95.value}`);
  assert.ok(t95.lo! <= t95.value! && t95.value! <= t95.hi!);
  assert.equal(c16.latency.itl_ms[50].n, 900, "ITL pools every gap");
  assert.equal(c16.latency.queue_delay_ms[95].lo, undefined, "no interval for the queue delay");
  // gains per doubling 10/(2c+10): 16 -> 24%, 32 -> 13.5%: the knee is 32.
  assert.equal(F.knee.kind === "knee" && F.knee.concurrency, 32);
  assert.deepEqual(F.knee_by_repeat.map((k) => k.concurrency), [32, 32, 32]);
  // TPOT p95 at 64 = 3 + 16 + 0.2 = 19.2 ms and TTFT 152 ms: the SLO holds, so the knee caps the sweet spot.
  assert.ok(F.sweet.kind === "sweet_spot" && F.sweet.concurrency === 32 && F.sweet.bound === "knee");
  assert.equal(F.peak?.concurrency, 64);
  assert.equal(F.invalid.length, 0);
});

Deno.test("an invalid repeat is left out of the medians and listed; a point with no valid repeat is excluded", () => {
  const mixed = rows.map((r) =>
    r.concurrency === 8 && r.repeat === 2
      ? pointRow(8, 2, false, 10) // a bogus 10x throughput from a bad repeat
      : r.concurrency === 64
      ? pointRow(64, r.repeat, false)
      : r
  );
  const F = batchingFindings(mixed, reqs, P);
  const c8 = F.concurrency.find((s) => s.concurrency === 8)!;
  assert.equal(c8.valid_repeats, 2);
  assert.equal(c8.throughput_rps, X(8), "the invalid repeat's 10x does not move the median");
  assert.equal(c8.throughput_max_rps, X(8));
  assert.match(c8.invalid_reasons[0], /^repeat 2: client too slow/);
  const c64 = F.concurrency.find((s) => s.concurrency === 64)!;
  assert.equal(c64.valid, false);
  assert.deepEqual(F.knee.excluded, [64]);
  assert.equal(F.invalid.length, 4);
});

Deno.test("the summary CSV is long format with one row per point, metric and statistic", () => {
  const F = batchingFindings(rows, reqs, P);
  const out = batchingSummaryRows(F);
  assert.ok(
    out.every((r) =>
      Object.keys(r).every((k) => (BATCHING_SUMMARY_COLUMNS as readonly string[]).includes(k))
    ),
  );
  const ttft = out.filter((r) => r.concurrency === 4 && r.metric === "ttft_ms");
  assert.deepEqual(ttft.map((r) => r.stat), ["p50", "p95", "p99"]);
  assert.ok(ttft.every((r) => typeof r.ci_lo === "number" && typeof r.ci_hi === "number"));
  assert.equal(
    out.find((r) => r.concurrency === 4 && r.metric === "throughput_rps" && r.stat === "median")?.value,
    114.286,
  );
});

Deno.test("batchingParseGaps reads the space-separated gaps and skips junk", () => {
  assert.deepEqual(batchingParseGaps("3.2 4 x 5.5"), [3.2, 4, 5.5]);
  assert.deepEqual(batchingParseGaps(undefined), []);
});
