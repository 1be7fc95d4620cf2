import assert from "node:assert/strict";
import type { SelfCheck } from "../../probe/load.ts";
import type { RequestRecord } from "../../probe/types.ts";
import {
  BATCHING_POINT_COLUMNS,
  BATCHING_REQUEST_COLUMNS,
  type BatchingPoint,
  batchingPointRow,
  batchingRequestRow,
} from "./point_row.ts";
import { BATCHING_PRESETS } from "./params.ts";

/** A streamed request: first content 20 ms after send, then a chunk every 10 ms until the end. */
function rec(index: number, send: number, end: number, phase: "warmup" | "measure"): RequestRecord {
  const chunk_ms: number[] = [];
  for (let t = send + 20; t <= end + 1e-9; t += 10) chunk_ms.push(t);
  return {
    request_id: `r-${index}`,
    endpoint: "completions",
    index,
    phase,
    ok: true,
    t_intended_ms: send,
    t_send_ms: send,
    t_first_content_ms: send + 20,
    t_end_ms: end,
    chunk_ms,
    prompt_tokens: 512,
    completion_tokens: chunk_ms.length,
    output_chars: 4 * chunk_ms.length,
  };
}

/** Closed loop with 2 workers: two warm-ups 0-100, then three rounds of two 100 ms requests. */
const closed: RequestRecord[] = [
  rec(0, 0, 100, "warmup"),
  rec(1, 0, 100, "warmup"),
  ...[2, 3, 4, 5, 6, 7].map((i) => rec(i, 100 * Math.floor(i / 2), 100 * Math.floor(i / 2) + 100, "measure")),
];

const okCheck: SelfCheck = {
  event_loop_lag: { n: 10, p50_ms: 0.5, p99_ms: 1 },
  send_lag: { n: 8, p50_ms: 0, p99_ms: 0 },
  dispatch_lag: { n: 8, p50_ms: 0, p99_ms: 0 },
  max_in_flight: 2,
  threshold_p99_ms: 10,
  client_ok: true,
};

const P = BATCHING_PRESETS.test;
const c2: BatchingPoint = { kind: "concurrency", id: "c2-r1", ordinal: 0, repeat: 1, concurrency: 2 };

Deno.test("throughput is counted on the steady window and Little's law holds on a steady closed loop", () => {
  const row = batchingPointRow({ point: c2, records: closed, self_check: okCheck, samples: [], params: P });
  assert.deepEqual(Object.keys(row).sort(), [...BATCHING_POINT_COLUMNS].sort());
  assert.equal(row.window_s, 0.2); // first measured send 100 ms, last 300 ms
  assert.equal(row.throughput_rps, 20); // 4 completions in (100, 300]
  assert.equal(row.output_tok_s, 180); // 9 tokens each
  assert.equal(row.requests_sent, 6); // warm-ups excluded
  assert.equal(row.ttft_p95_ms, 20);
  assert.equal(row.tpot_p50_ms, 10); // (100 - 20) / (9 - 1)
  assert.equal(row.itl_p99_ms, 10);
  assert.equal(row.inflight_mean, 2);
  assert.equal(row.little_inflight, 2); // 20 req/s x 100 ms
  assert.equal(row.little_dev_pct, 0);
  assert.equal(row.valid, true);
});

Deno.test("cool-down requests keep the load on but are not measured", () => {
  const tagged = closed.map((r) => ({ ...r, tags: { part: r.phase === "warmup" ? "warmup" : "measure" } }));
  const cool = [8, 9].map((i) => ({ ...rec(i, 400, 900, "measure"), tags: { part: "cooldown" } }));
  const row = batchingPointRow({
    point: c2,
    records: [...tagged, ...cool],
    self_check: okCheck,
    samples: [],
    params: P,
  });
  assert.equal(row.requests_sent, 6);
  assert.equal(row.window_s, 0.2);
  assert.equal(row.e2e_p99_ms, 100, "the 500 ms cool-down requests are left out");
  assert.equal(row.latency_from, "send");
  assert.equal(batchingRequestRow(cool[0], c2).part, "cooldown");
});

Deno.test("open-loop latencies include the client's queueing; closed-loop ones start at the send", () => {
  const queued = closed.map((r) => ({ ...r, t_intended_ms: r.t_send_ms - 30 }));
  const closedRow = batchingPointRow({
    point: c2,
    records: queued,
    self_check: okCheck,
    samples: [],
    params: P,
  });
  assert.equal(closedRow.ttft_p50_ms, 20);
  assert.equal(closedRow.queue_delay_p95_ms, 30);
  const rate: BatchingPoint = {
    kind: "rate",
    id: "rate1-r1",
    ordinal: 1,
    repeat: 1,
    rate_fraction: 1,
    target_rps: 20,
  };
  const openRow = batchingPointRow({
    point: rate,
    records: queued,
    self_check: okCheck,
    samples: [],
    params: P,
  });
  assert.equal(openRow.latency_from, "intended");
  assert.equal(openRow.ttft_p50_ms, 50);
  assert.equal(openRow.e2e_p50_ms, 130);
});

Deno.test("goodput counts only requests meeting every SLO", () => {
  const all = batchingPointRow({ point: c2, records: closed, self_check: okCheck, samples: [], params: P });
  assert.equal(all.goodput_rps, 20);
  const tight = batchingPointRow({
    point: c2,
    records: closed,
    self_check: okCheck,
    samples: [],
    params: { ...P, slo_tpot_ms: 5 },
  });
  assert.equal(tight.good_fraction, 0);
  assert.equal(tight.goodput_rps, 0);
  const failed = closed.map((r, i) => (i === 2 ? { ...r, ok: false, error_kind: "timeout" as const } : r));
  const one = batchingPointRow({ point: c2, records: failed, self_check: okCheck, samples: [], params: P });
  assert.equal(one.good_fraction, Math.round(5 / 6 * 1e3) / 1e3);
  assert.equal(one.valid, false, "1 of 6 failed is more than max_error_fraction");
  assert.match(String(one.invalid_reason), /16.7% of requests failed/);
});

Deno.test("a slow client, an under-filled loop and a late engine each make a point invalid, with the reason", () => {
  const slow = batchingPointRow({
    point: c2,
    records: closed,
    self_check: { ...okCheck, client_ok: false, event_loop_lag: { n: 10, p99_ms: 42 } },
    samples: [],
    params: P,
  });
  assert.equal(slow.valid, false);
  assert.match(String(slow.invalid_reason), /client too slow \(event-loop lag p99 42 ms; limit 10 ms\)/);
  // The forced-invalid self-check reaches its own CSV columns too.
  assert.equal(slow.client_ok, false);
  assert.equal(slow.client_lag_p99_ms, 42);

  const c4: BatchingPoint = { ...c2, id: "c4-r1", concurrency: 4 };
  const thin = batchingPointRow({ point: c4, records: closed, self_check: okCheck, samples: [], params: P });
  assert.match(String(thin.invalid_reason), /client kept only 2 of 4 requests in flight/);

  const late = batchingPointRow({
    point: c2,
    records: closed,
    self_check: okCheck,
    samples: [],
    engine_lateness_ms: [1, 1, 1, 1, 1, 40],
    params: P,
  });
  assert.match(String(late.invalid_reason), /embedded engine ran .* behind its simulated timeline/);
});

Deno.test("an open-loop point counts completions in the same window and checks the achieved send rate", () => {
  const rate: BatchingPoint = {
    kind: "rate",
    id: "rate1-r1",
    ordinal: 1,
    repeat: 1,
    rate_fraction: 1,
    target_rps: 20,
  };
  const row = batchingPointRow({
    point: rate,
    records: closed,
    self_check: { ...okCheck, target_rps: 20, achieved_rps: 12 },
    samples: [],
    params: P,
  });
  assert.equal(row.throughput_rps, 20);
  assert.equal(row.target_rps, 20);
  assert.equal(row.concurrency, undefined);
  assert.match(String(row.invalid_reason), /client sent 12 req\/s against 20 scheduled/);
});

Deno.test("server samples inside the window give queue and KV figures; preemptions over the whole point", () => {
  const samples = [
    { t_ms: 50, running: 2, waiting: 0, kv_usage: 0.05, preemptions_total: 7 },
    { t_ms: 150, running: 2, waiting: 1, kv_usage: 0.2, preemptions_total: 8 },
    { t_ms: 250, running: 1, waiting: 0, kv_usage: 0.1, preemptions_total: 8 },
    { t_ms: 260, error: "timeout" },
    { t_ms: 350, running: 0, waiting: 0, kv_usage: 0, preemptions_total: 10 },
  ];
  const row = batchingPointRow({ point: c2, records: closed, self_check: okCheck, samples, params: P });
  assert.equal(row.server_samples, 2);
  assert.equal(row.server_running_mean, 1.5);
  assert.equal(row.server_waiting_max, 1);
  assert.equal(row.server_kv_usage_max, 0.2);
  assert.equal(row.server_preemptions, 3);
  const none = batchingPointRow({ point: c2, records: closed, self_check: okCheck, samples: [], params: P });
  assert.equal(none.server_running_mean, undefined, "not measured is undefined, never 0");
});

Deno.test("the request row carries the point and the inter-chunk gaps", () => {
  const row = batchingRequestRow(closed[2], c2);
  assert.deepEqual(Object.keys(row).sort(), [...BATCHING_REQUEST_COLUMNS].sort());
  assert.equal(row.part, "measure");
  assert.equal(row.point_id, "c2-r1");
  assert.equal(row.phase, "measure");
  assert.equal(row.itl_gaps_ms, "10 10 10 10 10 10 10 10");
});
