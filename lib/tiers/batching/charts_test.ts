import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { batchingFindings } from "./analyze.ts";
import {
  batchingLatencyChart,
  batchingLittleChart,
  batchingServerCharts,
  batchingThroughputChart,
  batchingTradeoffChart,
} from "./charts.ts";
import { BATCHING_PRESETS } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow, BatchingServerRow } from "./point_row.ts";

const P = { ...BATCHING_PRESETS.test, ci_resamples: 50 };
const C = [1, 2, 4, 8, 16, 32, 64];
const X = (c: number) => 400 * c / (c + 10);

const points: BatchingPointRow[] = C.map((c) => ({
  point_id: `c${c}-r1`,
  sweep: "concurrency",
  repeat: 1,
  concurrency: c,
  latency_from: "send",
  requests_sent: 10,
  requests_ok: 10,
  requests_failed: 0,
  throughput_rps: c === 8 ? 5 : X(c),
  inflight_mean: c,
  little_inflight: c,
  server_samples: 2,
  valid: c !== 8,
  invalid_reason: c === 8 ? "client too slow" : undefined,
}));
const requests: BatchingRequestRow[] = C.flatMap((c) =>
  Array.from({ length: 10 }, (_, i) => ({
    ...requestCells(),
    point_id: `c${c}-r1`,
    sweep: "concurrency" as const,
    repeat: 1,
    part: "measure" as const,
    ok: true,
    ttft_ms: 20 + c + i,
    tpot_ms: 3 + c / 4,
    e2e_ms: 100 + c,
    queue_delay_ms: 0,
    itl_gaps_ms: "3 3 3",
  }))
);
const F = batchingFindings(points, requests, P);
const crosses = (svg: string) =>
  (svg.match(/M-?[\d.]+,-?[\d.]+L-?[\d.]+,-?[\d.]+M-?[\d.]+,-?[\d.]+L/g) ?? []).length;

Deno.test("the throughput chart marks the knee and the sweet spot and draws the invalid point as a cross", () => {
  assert.equal(F.knee.kind === "knee" && F.knee.concurrency, 32);
  const chart = batchingThroughputChart(F, points);
  assert.match(chart.svg, />knee c=32</);
  assert.match(chart.svg, />sweet spot c=32</);
  assert.ok(crosses(chart.svg) >= 1, "the invalid repeat at c=8 is drawn, as a cross");
  assert.match(chart.caption ?? "", /^Knee: Up to c=32 throughput grows/);
});

Deno.test("latency charts draw the SLO only where it applies", () => {
  assert.match(batchingLatencyChart(F, "ttft_ms").svg, /SLO p95 ≤ 200 ms/);
  assert.match(batchingLatencyChart(F, "tpot_ms").svg, /SLO p95 ≤ 25 ms/);
  assert.doesNotMatch(batchingLatencyChart(F, "itl_ms").svg, /SLO p95/);
});

Deno.test("the trade-off and Little charts render from the findings and rows", () => {
  assert.match(batchingTradeoffChart(F).svg, />c=64</);
  assert.match(batchingLittleChart(points).svg, /<svg/);
});

Deno.test("server charts: one per gauge, preemptions only when there were some, a note when not measured", () => {
  const rows: BatchingServerRow[] = [0, 0.1, 0.2].map((t, i) => ({
    point_id: "c4-r1",
    sweep: "concurrency",
    repeat: 1,
    concurrency: 4,
    t_s: t,
    running: 4,
    waiting: i,
    kv_usage: 0.01,
    preemptions_total: 2,
  }));
  assert.equal(batchingServerCharts(rows).length, 3);
  const more = rows.map((r, i) => ({ ...r, preemptions_total: 2 + i }));
  assert.equal(batchingServerCharts(more).length, 4);
  const none = batchingServerCharts([]);
  assert.equal(none.length, 1);
  assert.match(none[0].subtitle ?? "", /not measured/);
});
