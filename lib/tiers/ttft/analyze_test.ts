import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { ttftServerHistogram, ttftStartupSummary, ttftSummary } from "./analyze.ts";
import type { TtftRequestRow, TtftServerRow, TtftStartupRow } from "./tables.ts";

let nextId = 0;
function req(p: Partial<TtftRequestRow> & Pick<TtftRequestRow, "series">): TtftRequestRow {
  return {
    point_id: "launch-0",
    launch: 0,
    request_index: 0,
    series_index: 0,
    ...requestCells({ request_id: `r${nextId++}` }),
    ...p,
  };
}

function startup(p: Partial<TtftStartupRow> & Pick<TtftStartupRow, "phase" | "seconds">): TtftStartupRow {
  return {
    point_id: "launch-0",
    launch: 0,
    engine: "vllm",
    source: "log",
    simulated: false,
    clock: "engine_log",
    ...p,
  };
}

function bucket(le_s: string, cumulative_count: number, p: Partial<TtftServerRow> = {}): TtftServerRow {
  return {
    point_id: "launch-0",
    launch: 0,
    window: "warm",
    metric: "vllm:time_to_first_token_seconds",
    le_s,
    cumulative_count,
    sum_s: 0.1,
    count: 4,
    client_requests: 4,
    ...p,
  };
}

Deno.test("cold/warm factor is cold p50 over warm p50, and the curve is the median per request index", () => {
  const rows = [
    req({ series: "cold", launch: 0, point_id: "launch-0", request_index: 0, ttft_ms: 100 }),
    req({ series: "cold", launch: 1, point_id: "launch-1", request_index: 0, ttft_ms: 120 }),
    ...[10, 12, 14, 16].map((t, i) =>
      req({ series: "warm", request_index: i + 1, series_index: i, ttft_ms: t })
    ),
    req({ series: "warm", launch: 1, point_id: "launch-1", request_index: 1, ttft_ms: 30 }),
    req({ series: "warm", request_index: 2, ok: false, error_kind: "timeout" }),
  ];
  const s = ttftSummary({ requests: rows, startup: [], server: [] });
  assert.equal(s.cold.n, 2);
  assert.equal(s.cold.p50, 110);
  assert.equal(s.warm.n, 5);
  assert.equal(s.warm.p50, 14);
  assert.equal(s.cold_warm_factor, 110 / 14);
  assert.deepEqual(s.curve.slice(0, 2), [
    { request_index: 0, n: 2, median_ms: 110 },
    { request_index: 1, n: 2, median_ms: 20 },
  ]);
  assert.deepEqual(s.series.find((c) => c.series === "warm"), {
    series: "warm",
    requests: 6,
    failed: 1,
    with_cached_tokens: 0,
  });
});

Deno.test("the prefill fit recovers a linear TTFT from per-length medians and ignores failed requests", () => {
  const rows: TtftRequestRow[] = [];
  for (const tokens of [128, 512, 2048]) {
    for (const noise of [-1, 0, 1]) {
      rows.push(req({ series: "length", prompt_tokens_target: tokens, ttft_ms: 5 + 0.01 * tokens + noise }));
    }
  }
  rows.push(req({ series: "length", prompt_tokens_target: 2048, ok: false, ttft_ms: 1 }));
  const s = ttftSummary({ requests: rows, startup: [], server: [] });
  assert.deepEqual(s.length.points.map((p) => [p.prompt_tokens, p.n]), [[128, 3], [512, 3], [2048, 3]]);
  assert.ok(Math.abs(s.length.fit!.slope_ms_per_token - 0.01) < 1e-12);
  assert.ok(Math.abs(s.length.fit!.intercept_ms - 5) < 1e-9);
  assert.ok(Math.abs(s.length.fit!.r2! - 1) < 1e-12);
  assert.ok(Math.abs(s.length.prefill_tokens_per_s! - 100_000) < 1e-6);
  assert.equal(s.length.grows, true);
  assert.equal(s.length.fit_line.length, 2);
});

Deno.test("re-warm compares the first request after idle with the warm p50 and p95", () => {
  const rows = [
    ...[10, 10, 10, 10, 11].map((t, i) => req({ series: "warm", series_index: i, ttft_ms: t })),
    req({ series: "idle", series_index: 1, ttft_ms: 10 }),
    req({ series: "idle", series_index: 0, ttft_ms: 15, gap_before_ms: 30_500 }),
  ];
  const idle = ttftSummary({ requests: rows, startup: [], server: [] }).idle;
  assert.equal(idle.first_ms, 15);
  assert.equal(idle.gap_s, 30.5);
  assert.equal(idle.factor, 1.5);
  assert.equal(idle.above_warm_p95, true);
  assert.deepEqual(idle.later_ms, [10]);
});

Deno.test("the server side adds the windows' histograms; client minus server is the path outside the engine", () => {
  const server = [
    bucket("0.01", 1),
    bucket("0.02", 4),
    bucket("+Inf", 4),
    bucket("0.01", 0, { point_id: "launch-1", launch: 1, sum_s: 0.06, count: 4 }),
    bucket("0.02", 4, { point_id: "launch-1", launch: 1, sum_s: 0.06, count: 4 }),
    bucket("+Inf", 4, { point_id: "launch-1", launch: 1, sum_s: 0.06, count: 4 }),
  ];
  const h = ttftServerHistogram(server)!;
  assert.deepEqual(h.buckets, [{ le: 0.01, count: 1 }, { le: 0.02, count: 8 }, { le: Infinity, count: 8 }]);
  assert.equal(h.count, 8);
  assert.ok(Math.abs(h.sum! - 0.16) < 1e-12);
  const requests = [
    ...[22, 22, 22, 22].map((t) => req({ series: "warm", ttft_ms: t })),
    ...[22, 22, 22, 22].map((t) => req({ series: "warm", point_id: "launch-1", launch: 1, ttft_ms: t })),
    req({ series: "warm", point_id: "launch-2", launch: 2, ttft_ms: 500 }), // no scrape: left out
  ];
  const s = ttftSummary({ requests, startup: [], server }).server;
  assert.equal(s.measured, true);
  assert.equal(s.client_n, 8);
  assert.equal(s.server_count, 8);
  assert.ok(Math.abs(s.server_mean_ms! - 20) < 1e-9);
  assert.equal(s.client_mean_ms, 22);
  assert.ok(Math.abs(s.outside_mean_ms! - 2) < 1e-9);
  assert.deepEqual(s.server_p50_bucket_ms, { lower: 10, upper: 20 });
  assert.equal(s.client_p50_in_server_bucket, false);
  assert.deepEqual(s.buckets_ms, [{ lower_ms: 0, upper_ms: 10, count: 1 }, {
    lower_ms: 10,
    upper_ms: 20,
    count: 7,
  }]);
  assert.equal(ttftSummary({ requests, startup: [], server: [] }).server.measured, false);
});

Deno.test("startup: a real engine's ready time minus its log phases is 'not in log'; the sim's is not computed", () => {
  const real = ttftStartupSummary([
    startup({ phase: "weights_load", seconds: 10 }),
    startup({ phase: "compile", seconds: 20 }),
    startup({ phase: "ready", seconds: 45, source: "launcher", clock: "wall" }),
    startup({ phase: "weights_load", seconds: 12, launch: 1, point_id: "launch-1" }),
    startup({ phase: "compile", seconds: 22, launch: 1, point_id: "launch-1" }),
    startup({
      phase: "ready",
      seconds: 50,
      source: "launcher",
      clock: "wall",
      launch: 1,
      point_id: "launch-1",
    }),
  ]);
  assert.equal(real.measured, true);
  assert.equal(real.launches, 2);
  assert.equal(real.simulated, false);
  assert.deepEqual(real.phases.map((p) => [p.phase, p.mean_s, p.n]), [["weights_load", 11, 2], [
    "compile",
    21,
    2,
  ]]);
  assert.deepEqual(real.log_total_s, { n: 2, mean: 32, min: 30, max: 34 });
  assert.equal(real.not_in_log_s, 15.5); // (45 - 30 + 50 - 34) / 2
  assert.equal(real.largest_phase, "compile");

  const sim = ttftStartupSummary([
    startup({
      engine: "sim",
      phase: "compile",
      seconds: 6,
      simulated: true,
      clock: "simulated",
      time_scale: 0.02,
    }),
    startup({ engine: "sim", phase: "ready", seconds: 0.8, source: "launcher", clock: "wall_compressed" }),
  ]);
  assert.equal(sim.simulated, true);
  assert.equal(sim.time_scale, 0.02);
  assert.equal(sim.not_in_log_s, undefined);

  const external = ttftStartupSummary([
    startup({
      engine: "external",
      phase: "startup",
      seconds: undefined,
      source: "not_measured",
      clock: "none",
    }),
  ]);
  assert.equal(external.measured, false);
  assert.equal(external.launches, 0);
  assert.deepEqual(external.ready_s, { n: 0 });
});

Deno.test("a point the client self-check marked invalid is listed with its reason and feeds no finding", () => {
  const ok = { client_ok: true, event_loop_lag_p99_ms: 2, send_lag_p99_ms: 0.1 };
  const slow = {
    client_ok: false,
    event_loop_lag_p99_ms: 41,
    send_lag_p99_ms: 0.2,
    client_reason: "Client too slow for this point: event-loop lag p99 41.0 ms exceed 15 ms",
  };
  const rows = [
    req({ series: "cold", point_id: "launch-0", ttft_ms: 100, ...ok }),
    req({ series: "warm", point_id: "launch-0", request_index: 1, ttft_ms: 10, ...ok }),
    req({ series: "cold", point_id: "launch-1", launch: 1, ttft_ms: 500, ...slow }),
    req({ series: "warm", point_id: "launch-1", launch: 1, request_index: 1, ttft_ms: 90, ...slow }),
  ];
  const s = ttftSummary({
    requests: rows,
    startup: [],
    server: [
      bucket("0.05", 1, { point_id: "launch-1", launch: 1, count: 1, sum_s: 0.09 }),
      bucket("+Inf", 1, {
        point_id: "launch-1",
        launch: 1,
        count: 1,
        sum_s: 0.09,
      }),
    ],
  });
  assert.deepEqual(s.client, {
    checked_points: 2,
    invalid: [{
      point_id: "launch-1",
      requests: 2,
      event_loop_lag_p99_ms: 41,
      send_lag_p99_ms: 0.2,
      reason: slow.client_reason,
    }],
    event_loop_lag_p99_ms: 41,
    send_lag_p99_ms: 0.2,
  });
  assert.deepEqual([s.cold.n, s.cold.p50, s.warm.n, s.warm.p50], [1, 100, 1, 10]);
  assert.equal(s.server.measured, false, "the invalid point's server window is left out too");
  assert.deepEqual(
    s.series.map((c) => [c.series, c.requests]),
    [["cold", 2], ["warm", 2]],
    "counts keep all",
  );

  const unchecked = ttftSummary({
    requests: rows.map(({ client_ok: _, ...r }) => r),
    startup: [],
    server: [],
  });
  assert.equal(unchecked.client.checked_points, 0, "a run from before the self-check");
  assert.equal(unchecked.cold.n, 2);
});
