import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { assertChartSnapshot } from "../../report/_snapshot.ts";
import { batchingFindings } from "./analyze.ts";
import { batchingKeyRows, batchingPredictions, batchingTimeline } from "./lesson.ts";
import { BATCHING_PRESETS } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow, BatchingServerRow } from "./point_row.ts";

// Synthetic rows (not a measurement): c=4 with 4 warm-up, 8 measured and 4 cool-down requests, closed loop:
// each slot sends its next request when the previous one ends; 4 tokens 10 ms apart after a 20 ms TTFT.
const C = [1, 4];
const points: BatchingPointRow[] = C.map((c) => ({
  point_id: `c${c}-r1`,
  sweep: "concurrency",
  repeat: 1,
  concurrency: c,
  latency_from: "send",
  requests_sent: 16,
  requests_ok: 16,
  requests_failed: 0,
  throughput_rps: 10 * c,
  inflight_mean: c,
  little_inflight: c,
  server_samples: 5,
  valid: true,
}));
const requests: BatchingRequestRow[] = C.flatMap((c) =>
  Array.from({ length: 16 }, (_, i) => {
    const slot = i % c;
    const round = Math.floor(i / c);
    const send = 5 + round * 60 + slot;
    return {
      ...requestCells({ t_intended_ms: send, t_send_ms: send, t_end_ms: send + 50 }),
      point_id: `c${c}-r1`,
      sweep: "concurrency" as const,
      repeat: 1,
      part: (i < c ? "warmup" : i < 3 * c ? "measure" : "cooldown") as BatchingRequestRow["part"],
      concurrency: c,
      ok: true,
      t_first_content_ms: send + 20,
      ttft_ms: 20 + c + (i % 3),
      e2e_ms: 50 + c,
      tpot_ms: 10,
      itl_gaps_ms: "10 10 10",
    };
  })
);
const server: BatchingServerRow[] = [0, 0.05, 0.1, 0.15, 0.2].map((t_s, i) => ({
  point_id: "c4-r1",
  sweep: "concurrency",
  repeat: 1,
  concurrency: 4,
  t_s,
  running: 4,
  waiting: i === 0 ? 2 : 0,
}));
const P = { ...BATCHING_PRESETS.test, ci_resamples: 20 };
const F = batchingFindings(points, requests, P);

Deno.test("batchingTimeline: the point's requests from send to end, first tokens, token ticks and the gauge (snapshot)", async () => {
  const t = batchingTimeline(requests, server, { concurrency: 4, max_requests: 12 });
  assert.equal(t.point_id, "c4-r1");
  assert.equal(t.drawn, 12);
  assert.equal(t.samples, 4, "the sample at 200 ms is after the last drawn request ended (175 ms)");
  const svg = await assertChartSnapshot(
    t.requests,
    new URL("./testdata/batching_timeline.svg.snap", import.meta.url),
  );
  assert.equal((svg.match(/fill="red"/g) ?? []).length >= 1, true);
  assert.equal((svg.match(/<circle /g) ?? []).length, 12, "one first-token dot per request");
  assert.equal(
    (svg.match(/<line /g) ?? []).length,
    12 + 36,
    "one send-to-end rule per request, 3 token ticks each",
  );
  const gauge = await assertChartSnapshot(
    t.gauge,
    new URL("./testdata/batching_gauge.svg.snap", import.meta.url),
  );
  const gaugeLines = gauge.match(/aria-label="line">(.*?)<\/g>/)?.[1] ?? "";
  assert.equal((gaugeLines.match(/<path /g) ?? []).length, 2, "running and waiting");
  assert.match(gaugeLines, /stroke="#d62728"/, "waiting in red");
  // The default point is the largest concurrency up to 16; an unmeasured one is named with the choices.
  assert.equal(batchingTimeline(requests, server).concurrency, 4);
  assert.throws(
    () => batchingTimeline(requests, server, { concurrency: 8 }),
    /Concurrency 8 was not measured .* 1, 4/,
  );
  assert.throws(() => batchingTimeline([], server), /No concurrency-sweep requests of repeat 1/);
  assert.match(
    batchingTimeline(requests, [], { concurrency: 4 }).gauge.subtitle ?? "",
    /No \/metrics samples/,
  );
});

Deno.test("batchingKeyRows: per concurrency n, TTFT p50/p95, E2E p50 and the p95 ratio to the lowest point", () => {
  const rows = batchingKeyRows(F);
  assert.deepEqual(rows.map((r) => [r.concurrency, r.n]), [[1, 2], [4, 8]]);
  assert.equal(rows[0].ttft_p95_vs_lowest, 1);
  assert.equal(rows[1].e2e_p50_ms, 54);
});

Deno.test("batchingPredictions: the knee, throughput gain and TTFT growth with their reasons", () => {
  const p = batchingPredictions({ throughput_gain: 4 }, F);
  assert.deepEqual(p.rows.map((r) => r.quantity), [
    "the knee (concurrency)",
    "throughput at c=4 / at c=1",
    "TTFT p95 at c=4 / at c=1",
  ]);
  assert.equal(p.rows[1].result, "4.00 x");
  assert.equal(p.rows[1].verdict, "exact");
  assert.equal(p.rows[0].verdict, "no guess");
});
