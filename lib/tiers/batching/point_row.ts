/**
 * One row per point and repeat of a batching sweep, computed from that run's request records, the
 * client's self-check and the server samples: throughput on the steady window, latency percentiles,
 * goodput under the SLO, client queueing, a Little's-law check, the server's queue and KV usage, and a
 * validity verdict with its reason.
 *
 * Definitions (ms on the run's clock):
 * - parts: each point sends warm-up requests, then the measured ones, then cool-down requests; only the
 *   measured ones are measured, so none of them runs in the ramp-up or in the drain.
 * - steady window [A, B]: A = first measured send, B = last measured send. The client keeps the load
 *   on during it (closed loop: every completion is immediately replaced).
 * - throughput_rps = completions (any phase) with t_end in (A, B] / (B - A): what the server finished
 *   while the load was on. In a steady state it equals the arrival rate (open loop) and N / W (closed
 *   loop); when arrivals outrun the server, completions lag arrivals and Little's law shows it.
 *   Token throughputs: throughput_rps x mean tokens of those requests.
 * - TTFT and E2E (`latency_from`): closed loop from the send, as vLLM bench (the intended time is the
 *   client's own slot release; its delay in re-sending shows as queue delay); open loop from the
 *   scheduled arrival, what a user arriving on time sees (coordinated omission included). TPOT is
 *   vLLM's; ITL pools every inter-chunk gap of the measured requests (vLLM bench's ITL).
 * - goodput_rps = throughput_rps x good_fraction; a measured request is good when it succeeded, its TTFT
 *   <= slo_ttft_ms and its TPOT <= slo_tpot_ms (every SLO, as vLLM bench's --goodput).
 * - Little's law: inflight_mean = time-average of requests in flight (from the same start as the
 *   latencies to t_end) over the window;
 *   little_inflight = throughput_rps x mean E2E; little_dev_pct = 100 (little / inflight_mean - 1).
 * @module
 */
import { z } from "zod";
import {
  e2e_from_intended_ms,
  e2e_ms,
  itl_ms,
  queue_delay_ms,
  tpot_ms,
  ttft_from_intended_ms,
  ttft_ms,
} from "../../analysis/request_metrics.ts";
import { requestRow, RequestRowSchema } from "../../analysis/request_row.ts";
import { mean, percentile } from "../../base/stats.ts";
import type { SelfCheck } from "../../probe/load.ts";
import type { RequestRecord } from "../../probe/types.ts";
import { columnsOf, csvBoolean, csvNumber, type CsvRow } from "../../run/csv.ts";
import type { MetricsSample } from "../../scrape/sampler.ts";
import type { BatchingParams } from "./params.ts";

/** Which part of a point a request belongs to: only "measure" requests are measured. */
export type BatchingPart = "warmup" | "measure" | "cooldown";

/**
 * The part of request `index` in a point sending `warmup`, then `count` measured, then cool-down requests.
 *
 * @example
 * ```ts
 * batchingPart(5, 4, 10); // "measure"
 * ```
 */
export function batchingPart(index: number, warmup: number, count: number): BatchingPart {
  return index < warmup ? "warmup" : index < warmup + count ? "measure" : "cooldown";
}

/** A record's part: its `part` tag when the batching workload set one, else from its phase. */
export function batchingPartOf(r: RequestRecord): BatchingPart {
  const tag = r.tags?.part;
  if (tag === "warmup" || tag === "measure" || tag === "cooldown") return tag;
  return r.phase === "warmup" ? "warmup" : "measure";
}

/** Which sweep a point belongs to. */
export type BatchingSweep = "concurrency" | "rate";

/** One point of the plan: a load shape and a repeat. */
export type BatchingPoint =
  | { kind: "concurrency"; id: string; ordinal: number; repeat: number; concurrency: number }
  | { kind: "rate"; id: string; ordinal: number; repeat: number; rate_fraction: number; target_rps: number };

const num = csvNumber.optional();
const Sweep = z.enum(["concurrency", "rate"]);

/** A row of concurrency_sweep.csv or rate_sweep.csv, read back. */
export const BatchingPointRow = z.object({
  point_id: z.string(),
  sweep: Sweep,
  repeat: csvNumber,
  concurrency: num,
  rate_fraction: num,
  target_rps: num,
  latency_from: z.enum(["send", "intended"]),
  requests_sent: csvNumber,
  requests_ok: csvNumber,
  requests_failed: csvNumber,
  error_fraction: num,
  window_s: num,
  offered_rps: num,
  throughput_rps: num,
  output_tok_s: num,
  total_tok_s: num,
  goodput_rps: num,
  good_fraction: num,
  ttft_p50_ms: num,
  ttft_p95_ms: num,
  ttft_p99_ms: num,
  itl_p50_ms: num,
  itl_p95_ms: num,
  itl_p99_ms: num,
  tpot_p50_ms: num,
  tpot_p95_ms: num,
  tpot_p99_ms: num,
  e2e_p50_ms: num,
  e2e_p95_ms: num,
  e2e_p99_ms: num,
  e2e_mean_ms: num,
  queue_delay_mean_ms: num,
  queue_delay_p95_ms: num,
  queue_delay_p99_ms: num,
  inflight_mean: num,
  little_inflight: num,
  little_dev_pct: num,
  server_running_mean: num,
  server_running_max: num,
  server_waiting_mean: num,
  server_waiting_max: num,
  server_kv_usage_mean: num,
  server_kv_usage_max: num,
  server_preemptions: num,
  server_samples: csvNumber,
  client_lag_p99_ms: num,
  dispatch_lag_p99_ms: num,
  /** The client self-check (lib/probe/self_check.ts); false makes the point invalid. */
  client_ok: csvBoolean.optional(),
  send_lag_p99_ms: num,
  client_achieved_rps: num,
  engine_lateness_p95_ms: num,
  valid: csvBoolean,
  invalid_reason: z.string().optional(),
});
export type BatchingPointRow = z.infer<typeof BatchingPointRow>;

/** The per point-and-repeat columns of concurrency_sweep.csv and rate_sweep.csv, in CSV order. */
export const BATCHING_POINT_COLUMNS = columnsOf(BatchingPointRow);

/** A row of batching_requests.csv: the point, its part, the lab's per-request cells, the ITL gaps. */
export const BatchingRequestRow = z.object({
  point_id: z.string(),
  sweep: Sweep,
  repeat: csvNumber,
  part: z.enum(["warmup", "measure", "cooldown"]),
  concurrency: num,
  target_rps: num,
  ...RequestRowSchema.shape,
  /** Space-separated inter-chunk gaps of the request, ms. */
  itl_gaps_ms: z.string().optional(),
});
export type BatchingRequestRow = z.infer<typeof BatchingRequestRow>;

/** The columns of batching_requests.csv, in order. */
export const BATCHING_REQUEST_COLUMNS = columnsOf(BatchingRequestRow);

const r3 = (x: number | undefined) => x === undefined ? undefined : Math.round(x * 1e3) / 1e3;

function pointCells(p: BatchingPoint) {
  return {
    point_id: p.id,
    sweep: p.kind as BatchingSweep,
    repeat: p.repeat,
    concurrency: p.kind === "concurrency" ? p.concurrency : undefined,
    target_rps: p.kind === "rate" ? r3(p.target_rps) : undefined,
  };
}

/**
 * The batching_requests.csv row of one record.
 *
 * @example
 * ```ts
 * batchingRequestRow(record, point).itl_gaps_ms; // "3.2 3.18 3.25"
 * ```
 */
export function batchingRequestRow(r: RequestRecord, point: BatchingPoint): CsvRow {
  const gaps = itl_ms(r);
  return {
    ...pointCells(point),
    part: batchingPartOf(r),
    ...requestRow(r),
    itl_gaps_ms: gaps?.map((g) => Math.round(g * 100) / 100).join(" "),
  };
}

/**
 * The batching_server.csv rows of a point's samples; `t_s` is seconds from the point's start.
 *
 * @example
 * ```ts
 * batchingServerRows(samples, point, load.start_ms)[0].t_s; // ~0
 * ```
 */
export function batchingServerRows(
  samples: readonly MetricsSample[],
  point: BatchingPoint,
  start_ms: number,
): CsvRow[] {
  return samples.map((s) => ({
    ...pointCells(point),
    t_s: r3((s.t_ms - start_ms) / 1000),
    running: s.running,
    waiting: s.waiting,
    kv_usage: s.kv_usage,
    preemptions_total: s.preemptions_total,
    error: s.error,
  }));
}

/** What {@link batchingPointRow} needs. */
export interface BatchingPointRowInput {
  point: BatchingPoint;
  records: readonly RequestRecord[];
  self_check: SelfCheck;
  samples: readonly MetricsSample[];
  /** Embedded engine only: each measured request's largest lateness behind the simulated timeline, ms. */
  engine_lateness_ms?: readonly number[];
  params: Pick<
    BatchingParams,
    | "slo_ttft_ms"
    | "slo_tpot_ms"
    | "min_inflight_fraction"
    | "rate_tolerance"
    | "max_error_fraction"
    | "max_engine_lateness_ms"
  >;
}

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

/** Is a measured request good under the SLO (succeeded, TTFT and TPOT within their limits)? */
export function batchingMeetsSlo(
  r: { ok: boolean; ttft_ms?: number; tpot_ms?: number },
  slo: { slo_ttft_ms: number; slo_tpot_ms: number },
): boolean {
  if (!r.ok || r.ttft_ms === undefined || r.ttft_ms > slo.slo_ttft_ms) return false;
  return r.tpot_ms === undefined || r.tpot_ms <= slo.slo_tpot_ms;
}

/**
 * The summary row of one point and repeat (columns {@link BATCHING_POINT_COLUMNS}); pure.
 *
 * @example
 * ```ts
 * const row = batchingPointRow({ point, records: load.records, self_check: load.self_check, samples, params: P });
 * row.valid; // false when the client could not keep the load
 * ```
 */
export function batchingPointRow(input: BatchingPointRowInput): CsvRow {
  const { point, records, self_check, samples, params } = input;
  const measured = records.filter((r) => batchingPartOf(r) === "measure");
  // Closed loop: latency from the send (the "intended" time is the client's own slot release; its delay
  // in re-sending is the queue delay). Open loop: from the scheduled arrival (coordinated omission in).
  const fromIntended = point.kind === "rate";
  const ttftOf = fromIntended ? ttft_from_intended_ms : ttft_ms;
  const e2eOf = fromIntended ? e2e_from_intended_ms : e2e_ms;
  const startOf = (r: RequestRecord) => (fromIntended ? r.t_intended_ms : r.t_send_ms);
  const ok = measured.filter((r) => r.ok);
  const failed = measured.length - ok.length;
  const error_fraction = measured.length ? failed / measured.length : undefined;

  const sends = measured.map((r) => r.t_send_ms);
  const A = sends.length ? Math.min(...sends) : undefined;
  const B = sends.length ? Math.max(...sends) : undefined;
  const window_ms = A !== undefined && B !== undefined && B > A ? B - A : undefined;
  let throughput_rps: number | undefined;
  let output_tok_s: number | undefined;
  let total_tok_s: number | undefined;
  let inflight_mean: number | undefined;
  if (window_ms !== undefined) {
    const counted = records.filter((r) => r.ok && r.t_end_ms > A! && r.t_end_ms <= B!);
    throughput_rps = counted.length / (window_ms / 1000);
    const perRequest = (k: "completion_tokens" | "prompt_tokens") =>
      counted.length && counted.every((r) => r[k] !== undefined)
        ? counted.reduce((a, r) => a + r[k]!, 0) / counted.length
        : undefined;
    const out = perRequest("completion_tokens");
    const inp = perRequest("prompt_tokens");
    if (throughput_rps !== undefined && out !== undefined) {
      output_tok_s = throughput_rps * out;
      if (inp !== undefined) total_tok_s = throughput_rps * (out + inp);
    }
    let busy = 0;
    for (const r of records) busy += Math.max(0, Math.min(r.t_end_ms, B!) - Math.max(startOf(r), A!));
    inflight_mean = busy / window_ms;
  }

  const ttft = defined(ok.map(ttftOf));
  const tpot = defined(ok.map(tpot_ms));
  const e2e = defined(ok.map(e2eOf));
  const itl = ok.flatMap((r) => itl_ms(r) ?? []);
  const queue = measured.map(queue_delay_ms);
  const good =
    measured.filter((r) => batchingMeetsSlo({ ok: r.ok, ttft_ms: ttftOf(r), tpot_ms: tpot_ms(r) }, params))
      .length;
  const good_fraction = measured.length ? good / measured.length : undefined;
  const e2e_mean = mean(e2e);
  const little = throughput_rps !== undefined && e2e_mean !== undefined
    ? throughput_rps * e2e_mean / 1000
    : undefined;

  const inWindow = samples.filter((s) =>
    s.error === undefined && A !== undefined && B !== undefined && s.t_ms >= A && s.t_ms <= B
  );
  const gauge = (k: "running" | "waiting" | "kv_usage") => defined(inWindow.map((s) => s[k]));
  const preempt = defined(samples.filter((s) => s.error === undefined).map((s) => s.preemptions_total));
  const offered_rps = window_ms !== undefined ? (measured.length - 1) / (window_ms / 1000) : undefined;
  const lateness_p95 = input.engine_lateness_ms?.length
    ? percentile(input.engine_lateness_ms, 95)
    : undefined;

  const reasons: string[] = [];
  if (ok.length < 2 || window_ms === undefined) reasons.push("fewer than 2 successful measured requests");
  if (!self_check.client_ok) {
    const lag = [
      `event-loop lag p99 ${fmt(self_check.event_loop_lag.p99_ms)} ms`,
      point.kind === "rate" ? `dispatch lag p99 ${fmt(self_check.dispatch_lag.p99_ms)} ms` : undefined,
    ].filter(Boolean).join(", ");
    reasons.push(`client too slow (${lag}; limit ${self_check.threshold_p99_ms} ms)`);
  }
  if (point.kind === "concurrency" && inflight_mean !== undefined) {
    if (inflight_mean < params.min_inflight_fraction * point.concurrency) {
      reasons.push(`client kept only ${fmt(inflight_mean)} of ${point.concurrency} requests in flight`);
    }
  }
  if (point.kind === "rate" && self_check.achieved_rps !== undefined) {
    const dev = self_check.achieved_rps / point.target_rps - 1;
    if (Math.abs(dev) > params.rate_tolerance) {
      reasons.push(
        `client sent ${fmt(self_check.achieved_rps)} req/s against ${fmt(point.target_rps)} scheduled`,
      );
    }
  }
  if (error_fraction !== undefined && error_fraction > params.max_error_fraction) {
    reasons.push(`${fmt(100 * error_fraction)}% of requests failed`);
  }
  if (lateness_p95 !== undefined && lateness_p95 > params.max_engine_lateness_ms) {
    reasons.push(
      `the embedded engine ran ${fmt(lateness_p95)} ms behind its simulated timeline (p95): ` +
        "the host CPU, not the simulated GPU, set the pace",
    );
  }

  const pct = (xs: number[], p: number) => r3(percentile(xs, p));
  return {
    ...pointCells(point),
    rate_fraction: point.kind === "rate" ? point.rate_fraction : undefined,
    latency_from: fromIntended ? "intended" : "send",
    requests_sent: measured.length,
    requests_ok: ok.length,
    requests_failed: failed,
    error_fraction: r3(error_fraction),
    window_s: r3(window_ms === undefined ? undefined : window_ms / 1000),
    offered_rps: r3(offered_rps),
    throughput_rps: r3(throughput_rps),
    output_tok_s: r3(output_tok_s),
    total_tok_s: r3(total_tok_s),
    goodput_rps: r3(
      throughput_rps !== undefined && good_fraction !== undefined
        ? throughput_rps * good_fraction
        : undefined,
    ),
    good_fraction: r3(good_fraction),
    ttft_p50_ms: pct(ttft, 50),
    ttft_p95_ms: pct(ttft, 95),
    ttft_p99_ms: pct(ttft, 99),
    itl_p50_ms: pct(itl, 50),
    itl_p95_ms: pct(itl, 95),
    itl_p99_ms: pct(itl, 99),
    tpot_p50_ms: pct(tpot, 50),
    tpot_p95_ms: pct(tpot, 95),
    tpot_p99_ms: pct(tpot, 99),
    e2e_p50_ms: pct(e2e, 50),
    e2e_p95_ms: pct(e2e, 95),
    e2e_p99_ms: pct(e2e, 99),
    e2e_mean_ms: r3(e2e_mean),
    queue_delay_mean_ms: r3(mean(queue)),
    queue_delay_p95_ms: pct(queue, 95),
    queue_delay_p99_ms: pct(queue, 99),
    inflight_mean: r3(inflight_mean),
    little_inflight: r3(little),
    little_dev_pct: r3(
      little !== undefined && inflight_mean ? 100 * (little / inflight_mean - 1) : undefined,
    ),
    server_running_mean: r3(mean(gauge("running"))),
    server_running_max: maxOf(gauge("running")),
    server_waiting_mean: r3(mean(gauge("waiting"))),
    server_waiting_max: maxOf(gauge("waiting")),
    server_kv_usage_mean: r3(mean(gauge("kv_usage"))),
    server_kv_usage_max: r3(maxOf(gauge("kv_usage"))),
    server_preemptions: preempt.length >= 2 ? preempt[preempt.length - 1] - preempt[0] : undefined,
    server_samples: inWindow.length,
    client_lag_p99_ms: r3(self_check.event_loop_lag.p99_ms),
    dispatch_lag_p99_ms: r3(self_check.dispatch_lag.p99_ms),
    client_ok: self_check.client_ok,
    send_lag_p99_ms: r3(self_check.send_lag.p99_ms),
    client_achieved_rps: r3(self_check.achieved_rps),
    engine_lateness_p95_ms: r3(lateness_p95),
    valid: reasons.length === 0,
    invalid_reason: reasons.length ? reasons.join("; ") : undefined,
  };
}

function maxOf(xs: readonly number[]): number | undefined {
  return xs.length ? Math.max(...xs) : undefined;
}

function fmt(x: number | undefined): string {
  return x === undefined ? "n/a" : String(Number(x.toPrecision(3)));
}

/** A row of batching_server.csv: one /metrics sample of a point and repeat. */
export const BatchingServerRow = z.object({
  point_id: z.string(),
  sweep: Sweep,
  repeat: csvNumber,
  concurrency: num,
  target_rps: num,
  t_s: csvNumber,
  running: num,
  waiting: num,
  kv_usage: num,
  preemptions_total: num,
  error: z.string().optional(),
});
export type BatchingServerRow = z.infer<typeof BatchingServerRow>;

/** The columns of batching_server.csv: server samples over time, per point and repeat. */
export const BATCHING_SERVER_COLUMNS = columnsOf(BatchingServerRow);
