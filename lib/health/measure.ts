/**
 * The canary's measurements, one per check id: pure derivations from the canary's request records, the
 * server's /metrics before, during and after it, and nvidia-smi samples. A value the canary could not
 * measure is absent, with the reason in `na` (never 0).
 * @module
 */
import { percentile } from "../base/stats.ts";
import { e2e_ms, ttft_ms } from "../analysis/request_metrics.ts";
import type { RequestRecord } from "../probe/types.ts";
import type { GpuSample } from "../scrape/gpu_sampler.ts";
import type { MetricsSample } from "../scrape/sampler.ts";
import type { ServerMetrics } from "../scrape/vllm_metrics.ts";
import type { CheckId } from "./thresholds.ts";

/** What the canary measured: a value per check, or the reason it could not. */
export interface Measured {
  values: Partial<Record<CheckId, number>>;
  /** Why a check has no value (it is judged n/a). */
  na: Partial<Record<CheckId, string>>;
  /** Checks with no value because the server failed them (every request failed): judged a breach. */
  failed?: Partial<Record<CheckId, string>>;
  /** Where each value came from (a metric name, "client" or "nvidia-smi"). */
  sources: Partial<Record<CheckId, string>>;
}

/** The server-side view of the canary: scrapes before and after, and samples in between. */
export type CanaryMetrics =
  | { kind: "scraped"; before: ServerMetrics; after?: ServerMetrics; samples: readonly MetricsSample[] }
  | { kind: "unavailable"; reason: string };

/** The GPU view: nvidia-smi samples, or why there are none. */
export type CanaryGpu =
  | { kind: "sampled"; samples: readonly GpuSample[]; /** Default "nvidia-smi". */ source?: string }
  | { kind: "unavailable"; reason: string };

/** Inputs of {@link measureCanary}. */
export interface CanaryInput {
  /** The records of the requests that were sent. */
  records: readonly RequestRecord[];
  /** Requests the canary meant to send; unsent ones (deadline) count as failed. */
  requests: number;
  /** From the first send to the last response's end (ms). */
  wall_ms: number;
  metrics: CanaryMetrics;
  gpu: CanaryGpu;
}

const MIB_PER_GIB = 1024;

function maxOf(xs: readonly (number | undefined)[]): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
}

/**
 * Derives every check's measurement. Formulas:
 * ttft_p95_ms / e2e_p95_ms = p95 (type 7) of ttft_ms / e2e_ms over successful requests;
 * output_tok_s = sum of completion tokens of successful requests / wall time;
 * (when every request failed, the two latencies are `failed`: a breach, not n/a);
 * error_rate = (requests - successful) / requests;
 * queue_depth_max, kv_usage_max = largest waiting / KV usage over every scrape;
 * preemptions = preemptions counter after - before;
 * gpu_util_max = largest utilization.gpu over GPUs and samples, as a fraction (percent / 100);
 * gpu_memory_headroom_gib = smallest (total - used) over GPUs and samples, in GiB.
 *
 * @example
 * ```ts
 * const m = measureCanary({ records, requests: 16, wall_ms: 900,
 *   metrics: { kind: "unavailable", reason: "no /metrics" }, gpu: { kind: "unavailable", reason: "no GPU" } });
 * m.values.error_rate; // 0
 * ```
 */
export function measureCanary(input: CanaryInput): Measured {
  const out: Measured = { values: {}, na: {}, sources: {} };
  const set = (id: CheckId, v: number | undefined, source: string, reason: string) => {
    if (v === undefined || !Number.isFinite(v)) out.na[id] = reason;
    else {
      out.values[id] = v;
      out.sources[id] = source;
    }
  };
  const ok = input.records.filter((r) => r.ok);
  const client = "client (canary requests)";
  if (input.records.length > 0 && ok.length === 0) {
    // The server answered no request: the latencies are unmeasurable because of the server, a breach.
    const why = `no canary request succeeded (${input.records.length} sent, all failed)`;
    out.failed = { ttft_p95_ms: why, e2e_p95_ms: why };
  } else {
    const none = "the canary sent no request";
    set("ttft_p95_ms", percentile(ok.map(ttft_ms).filter((v) => v !== undefined), 95), client, none);
    set("e2e_p95_ms", percentile(ok.map(e2e_ms).filter((v) => v !== undefined), 95), client, none);
  }
  const tokens = ok.map((r) => r.completion_tokens ?? r.chunk_ms.length).reduce((a, b) => a + b, 0);
  // Zero tokens over a canary that ran is a measurement (0 tokens/s), not n/a.
  set(
    "output_tok_s",
    input.records.length && input.wall_ms > 0 ? tokens / (input.wall_ms / 1000) : undefined,
    client,
    "the canary sent no request",
  );
  set(
    "error_rate",
    input.requests > 0 ? (input.requests - ok.length) / input.requests : undefined,
    client,
    "the canary sent no request",
  );

  const m = input.metrics;
  if (m.kind === "unavailable") {
    for (const id of ["queue_depth_max", "kv_usage_max", "preemptions"] as const) out.na[id] = m.reason;
  } else {
    const all = [m.before, ...(m.after ? [m.after] : [])];
    set(
      "queue_depth_max",
      maxOf([...all.map((s) => s.gauges.waiting), ...m.samples.map((s) => s.waiting)]),
      m.before.sources.waiting ?? m.after?.sources.waiting ?? "",
      "the server exports no queue gauge (vllm:num_requests_waiting)",
    );
    set(
      "kv_usage_max",
      maxOf([...all.map((s) => s.gauges.kv_usage), ...m.samples.map((s) => s.kv_usage)]),
      m.before.sources.kv_usage ?? m.after?.sources.kv_usage ?? "",
      "the server exports no KV usage gauge (vllm:kv_cache_usage_perc / gpu_cache_usage_perc)",
    );
    const before = m.before.counters.preemptions;
    const after = maxOf([m.after?.counters.preemptions, ...m.samples.map((s) => s.preemptions_total)]);
    set(
      "preemptions",
      before !== undefined && after !== undefined ? Math.max(0, after - before) : undefined,
      m.before.sources.preemptions ?? "",
      before === undefined
        ? "the server exports no preemption counter (vllm:num_preemptions_total)"
        : "no scrape after the canary succeeded",
    );
  }

  const g = input.gpu;
  if (g.kind === "unavailable") {
    out.na.gpu_memory_headroom_gib = g.reason;
    out.na.gpu_util_max = g.reason;
  } else {
    const source = g.source ?? "nvidia-smi";
    set(
      "gpu_util_max",
      maxOf(
        g.samples.map((s) => s.utilization_gpu_pct === undefined ? undefined : s.utilization_gpu_pct / 100),
      ),
      source,
      "nvidia-smi reported no utilization (e.g. under MIG)",
    );
    const free = g.samples.map((s) =>
      s.memory_total_mib !== undefined && s.memory_used_mib !== undefined
        ? (s.memory_total_mib - s.memory_used_mib) / MIB_PER_GIB
        : undefined
    ).filter((v): v is number => v !== undefined);
    set(
      "gpu_memory_headroom_gib",
      free.length ? Math.min(...free) : undefined,
      source,
      "nvidia-smi reported no memory figures",
    );
  }
  return out;
}
