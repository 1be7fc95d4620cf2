import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import type { Row } from "../../report/fact.ts";
import type { RunData } from "../../report/fact_book.ts";
import { assertRendersAndMatches } from "../../report/_snapshot.ts";
import { batchingFindings } from "./analyze.ts";
import {
  batchingLatencyChart,
  batchingLittleChart,
  batchingServerCharts,
  batchingThroughputChart,
  batchingTradeoffChart,
} from "./charts.ts";
import { BATCHING_FILES } from "./measure.ts";
import { BATCHING_PRESETS } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow, BatchingServerRow } from "./point_row.ts";
import { batchingTier } from "./tier.ts";

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

Deno.test("the throughput chart marks the knee and the sweet spot and draws the invalid point as a cross (snapshot)", async () => {
  assert.equal(F.knee.kind === "knee" && F.knee.concurrency, 32);
  const chart = batchingThroughputChart(F, points);
  await assertRendersAndMatches(chart, import.meta.url, "batching_throughput");
  assert.match(chart.svg, />knee c=32</);
  assert.match(chart.svg, />sweet spot c=32</);
  assert.ok(crosses(chart.svg) >= 1, "the invalid repeat at c=8 is drawn, as a cross");
  assert.match(chart.caption ?? "", /^Knee: Up to c=32 throughput grows/);
});

Deno.test("latency charts draw the SLO only where it applies (snapshot)", async () => {
  const [ttft, tpot, itl] = (["ttft_ms", "tpot_ms", "itl_ms"] as const).map((m) =>
    batchingLatencyChart(F, m)
  );
  assert.match(ttft.svg, /SLO p95 ≤ 200 ms/);
  assert.match(tpot.svg, /SLO p95 ≤ 25 ms/);
  assert.doesNotMatch(itl.svg, /SLO p95/);
  await assertRendersAndMatches(ttft, import.meta.url, "batching_latency_ttft");
  await assertRendersAndMatches(tpot, import.meta.url, "batching_latency_tpot");
  await assertRendersAndMatches(itl, import.meta.url, "batching_latency_itl");
});

Deno.test("the trade-off and Little charts render from the findings and rows (snapshot)", async () => {
  const tradeoff = batchingTradeoffChart(F);
  assert.match(tradeoff.svg, />c=64</);
  await assertRendersAndMatches(tradeoff, import.meta.url, "batching_tradeoff");
  const little = batchingLittleChart(points);
  assert.match(little.svg, /<svg/);
  await assertRendersAndMatches(little, import.meta.url, "batching_little");
});

Deno.test("server charts: one per gauge, preemptions only when there were some, a note when not measured (snapshot)", async () => {
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
  const charts = batchingServerCharts(more);
  assert.equal(charts.length, 4);
  for (const [i, c] of charts.entries()) {
    await assertRendersAndMatches(c, import.meta.url, `batching_server_${i}`);
  }
  const none = batchingServerCharts([]);
  assert.equal(none.length, 1);
  assert.match(none[0].subtitle ?? "", /not measured/);
  await assertRendersAndMatches(none[0], import.meta.url, "batching_server_none");
});

/** A run whose only CSV is `file` with `rows`, every cell as text (as readRunData reads it). */
function runData(file: string, rows: readonly Record<string, unknown>[]): RunData {
  const text = rows.map((r): Row =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === undefined ? undefined : String(v)]))
  );
  return { dir: "/run", manifest: {}, csv: new Map([[file, text]]), status: {}, files: [file] };
}

Deno.test("batchingTier.indexChart: throughput and p95 latency per repeat, invalid ones crossed; undefined with none (snapshot)", async () => {
  const chart = batchingTier.indexChart(runData(BATCHING_FILES.concurrency, points), "run test-fixture");
  assert.ok(chart);
  assert.equal(chart.title, "Throughput and p95 latency against concurrency");
  assert.equal(chart.subtitle, "run test-fixture");
  const svg = await assertRendersAndMatches(chart, import.meta.url, "batching_index_tier");
  const circles = [...svg.matchAll(/<g [^>]*aria-label="dot"[^>]*>([\s\S]*?)<\/g>/g)]
    .reduce((n, m) => n + (m[1].match(/<circle /g)?.length ?? 0), 0);
  assert.equal(
    circles,
    6,
    "the 6 valid repeats (the invalid one at c=8 a cross; no e2e_p95_ms: no latency dots)",
  );
  assert.equal(batchingTier.indexChart(runData(BATCHING_FILES.concurrency, []), "x"), undefined);
  assert.equal(
    batchingTier.indexChart(runData(BATCHING_FILES.rate, points), "x"),
    undefined,
    "no sweep file",
  );
  // Every repeat invalid (the client was too slow): drawn, crossed, so the index shows the tier ran.
  const invalid = points.map((p) => ({ ...p, valid: false }));
  assert.ok(batchingTier.indexChart(runData(BATCHING_FILES.concurrency, invalid), "x"));
});
