/**
 * A Grafana dashboard on vLLM's own Prometheus metric names, with each panel's threshold line taken
 * from a thresholds file: the same numbers the health check judges, watched continuously.
 *
 * Units: latency histograms are in seconds, so a file's millisecond thresholds are divided by 1000;
 * fractions stay fractions (Grafana's `percentunit`). GPU utilisation and memory headroom have no vLLM
 * metric: their panels query NVIDIA's DCGM exporter (`DCGM_FI_DEV_GPU_UTIL`, percent; `DCGM_FI_DEV_FB_FREE`,
 * MiB), which must be scraped beside vLLM.
 * @module
 */
import type { CheckId, ThresholdCheck, Thresholds } from "./thresholds.ts";

/** Options of {@link grafanaDashboard}. */
export interface DashboardOptions {
  /** Dashboard title (default "servelab: vLLM health"). */
  title?: string;
  /** Dashboard uid (default "servelab-vllm-health"). */
  uid?: string;
  /** Window of rate()/increase() (default "5m"). */
  rate_window?: string;
}

/** How one check is watched in Prometheus: the panel, its queries, and the unit conversion. */
export interface PanelSpec {
  title: string;
  /** PromQL; `$M` is replaced by the model_name matcher, `$W` by the rate window. */
  exprs: { expr: string; legend: string }[];
  /** Grafana unit id. */
  unit: string;
  /** Multiply the file's threshold by this to get the panel's unit (ms -> s: 0.001). */
  scale: number;
  description: string;
}

const M = `model_name=~"$model_name"`;

/** The checks that have a Prometheus equivalent on vLLM's metrics, and how each is drawn. */
export const CHECK_PANELS: Partial<Record<CheckId, PanelSpec>> = {
  ttft_p95_ms: {
    title: "TTFT p95",
    exprs: [{
      expr: "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{$M}[$W])))",
      legend: "p95",
    }],
    unit: "s",
    scale: 0.001,
    description: "Server-side time to first token (arrival to first token), 95th percentile. " +
      "The health check measures it client side, which adds the network and the HTTP frontend.",
  },
  e2e_p95_ms: {
    title: "E2E latency p95",
    exprs: [{
      expr: "histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{$M}[$W])))",
      legend: "p95",
    }],
    unit: "s",
    scale: 0.001,
    description: "Server-side end-to-end request latency, 95th percentile. Depends on output length: " +
      "the threshold was set for the canary's max_tokens.",
  },
  output_tok_s: {
    title: "Output tokens/s",
    exprs: [{ expr: "sum(rate(vllm:generation_tokens_total{$M}[$W]))", legend: "generated tokens/s" }],
    unit: "short",
    scale: 1,
    description: "Generated tokens per second over all requests. The threshold is a floor under the " +
      "canary's load: with little traffic the rate is low without anything being wrong.",
  },
  error_rate: {
    title: "Error rate",
    exprs: [{
      expr: `sum(rate(vllm:request_success_total{finished_reason="error",$M}[$W])) / ` +
        "sum(rate(vllm:request_success_total{$M}[$W]))",
      legend: "errors / finished",
    }],
    unit: "percentunit",
    scale: 1,
    description: "Requests the engine finished with reason 'error', over all finished. Requests refused " +
      "before the engine (HTTP 4xx/5xx from the frontend) are not counted; the canary counts them.",
  },
  queue_depth_max: {
    title: "Queue: waiting and running requests",
    exprs: [
      { expr: "sum(vllm:num_requests_waiting{$M})", legend: "waiting" },
      { expr: "sum(vllm:num_requests_running{$M})", legend: "running" },
    ],
    unit: "short",
    scale: 1,
    description:
      "Requests waiting to be scheduled (the threshold applies to these) and in the running batch.",
  },
  kv_usage_max: {
    title: "KV cache usage",
    exprs: [{
      expr: "max(vllm:kv_cache_usage_perc{$M}) or max(vllm:gpu_cache_usage_perc{$M})",
      legend: "KV usage",
    }],
    unit: "percentunit",
    scale: 1,
    description: "Fraction of KV blocks in use (vllm:kv_cache_usage_perc; vllm:gpu_cache_usage_perc " +
      "before v0.12). Cached-but-free prefix blocks count as free.",
  },
  gpu_util_max: {
    title: "GPU utilisation (DCGM)",
    exprs: [{ expr: "max by (gpu) (DCGM_FI_DEV_GPU_UTIL)", legend: "GPU {{gpu}}" }],
    unit: "percent",
    scale: 100,
    description: "Busy share of each GPU (NVIDIA DCGM exporter's DCGM_FI_DEV_GPU_UTIL, 0-100; the same " +
      "quantity as nvidia-smi's utilization.gpu, which the health check samples). Needs dcgm-exporter " +
      "scraped by the same Prometheus. Low with no traffic is normal; worrying: near 0 while requests wait " +
      "(the GPU is not serving), or pinned near 100 while the queue grows (saturated: add a replica).",
  },
  gpu_memory_headroom_gib: {
    title: "VRAM headroom (DCGM)",
    exprs: [{ expr: "min by (gpu) (DCGM_FI_DEV_FB_FREE) * 1048576", legend: "free, GPU {{gpu}}" }],
    unit: "bytes",
    scale: 1073741824,
    description: "Free GPU memory (DCGM_FI_DEV_FB_FREE, MiB, shown in bytes). vLLM takes its share " +
      "(--gpu-memory-utilization) at startup, so this line is flat unless something else allocates on " +
      "the GPU; it falling toward the threshold means the next allocation may fail. Needs dcgm-exporter.",
  },
  preemptions: {
    title: "Preemptions",
    exprs: [{ expr: "sum(increase(vllm:num_preemptions_total{$M}[$W]))", legend: "preemptions / window" }],
    unit: "short",
    scale: 1,
    description: "Requests preempted (recomputed) because KV blocks ran out, per rate window.",
  },
};

/** The threshold as the panel draws it: the file's value times the panel's unit scale. */
export function panelThreshold(check: ThresholdCheck): number | undefined {
  const spec = CHECK_PANELS[check.id];
  return spec === undefined ? undefined : check.value * spec.scale;
}

const DS = { type: "prometheus", uid: "${DS_PROMETHEUS}" };

/** Grafana threshold steps: `<=` turns red above the value, `>=` is red below it. */
function steps(op: "<=" | ">=", value: number) {
  return op === "<="
    ? [{ color: "green", value: null }, { color: "red", value }]
    : [{ color: "red", value: null }, { color: "green", value }];
}

/**
 * A Grafana dashboard (schemaVersion 39) for `t`: one time-series panel per check that vLLM's metrics
 * can show, its threshold drawn as a line, plus a prefix-cache hit-rate panel and a text panel for
 * the checks without a vLLM metric. Variables: `DS_PROMETHEUS` (a Prometheus data source) and
 * `model_name`.
 *
 * @example
 * ```ts
 * const dash = grafanaDashboard(defaultThresholds());
 * await Deno.writeTextFile("grafana_dashboard.json", JSON.stringify(dash, null, 2) + "\n");
 * ```
 */
export function grafanaDashboard(t: Thresholds, opts: DashboardOptions = {}): Record<string, unknown> {
  const window = opts.rate_window ?? "5m";
  const fill = (e: string) => e.replaceAll("$M", M).replaceAll("$W", window);
  const panels: Record<string, unknown>[] = [];
  const place = (w: number, h: number) => {
    const i = panels.length;
    return { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w, h };
  };
  const timeseries = (
    title: string,
    description: string,
    exprs: PanelSpec["exprs"],
    unit: string,
    threshold?: { op: "<=" | ">="; value: number },
  ) => ({
    id: panels.length + 1,
    type: "timeseries",
    title,
    description,
    datasource: DS,
    gridPos: place(12, 8),
    fieldConfig: {
      defaults: {
        unit,
        custom: { thresholdsStyle: { mode: threshold ? "line+area" : "off" }, lineWidth: 1, fillOpacity: 0 },
        thresholds: {
          mode: "absolute",
          steps: threshold ? steps(threshold.op, threshold.value) : [{ color: "green", value: null }],
        },
      },
      overrides: [],
    },
    options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
    targets: exprs.map((e, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DS,
      expr: fill(e.expr),
      legendFormat: e.legend,
    })),
  });

  const unpanelled: ThresholdCheck[] = [];
  for (const check of t.checks) {
    const spec = CHECK_PANELS[check.id];
    if (!spec) {
      unpanelled.push(check);
      continue;
    }
    const value = check.value * spec.scale;
    panels.push(timeseries(
      `${spec.title} (threshold ${check.op} ${check.value} ${check.unit})`,
      `${spec.description} Threshold: ${check.why}`,
      spec.exprs,
      spec.unit,
      { op: check.op, value },
    ));
  }
  panels.push(timeseries(
    "Prefix cache hit rate",
    "Prompt tokens found in the prefix cache over prompt tokens looked up (no threshold).",
    [{
      expr:
        "sum(rate(vllm:prefix_cache_hits_total{$M}[$W])) / sum(rate(vllm:prefix_cache_queries_total{$M}[$W]))",
      legend: "hit rate",
    }],
    "percentunit",
  ));
  if (unpanelled.length) {
    panels.push({
      id: panels.length + 1,
      type: "text",
      title: "Checks without a vLLM metric",
      gridPos: place(12, 8),
      options: {
        mode: "markdown",
        content: unpanelled.map((c) => `- **${c.id}** ${c.op} ${c.value} ${c.unit}: ${c.why}.`).join("\n") +
          "\n\n`./servelab health` measures these with its canary.",
      },
    });
  }
  const from = t.derived_from;
  return {
    title: opts.title ?? "servelab: vLLM health",
    uid: opts.uid ?? "servelab-vllm-health",
    description: from
      ? `Thresholds derived from run ${from.run_id} (${from.engine_label}, model ${from.model}` +
        `${from.simulated ? ", SIMULATED engine: recalibrate on the real server" : ""}).`
      : "Generic default thresholds (servelab health's defaults).",
    tags: ["vllm", "servelab"],
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    templating: {
      list: [
        {
          name: "DS_PROMETHEUS",
          label: "Prometheus",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
        },
        {
          name: "model_name",
          label: "Model",
          type: "query",
          datasource: DS,
          query: { query: "label_values(vllm:num_requests_running, model_name)", refId: "model_name" },
          definition: "label_values(vllm:num_requests_running, model_name)",
          refresh: 2,
          includeAll: true,
          allValue: ".*",
          multi: false,
          current: {},
          hide: 0,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
