/**
 * Confirmation under load: one engine at max-model-len L with a pool sized for a few L-token requests
 * (kv_cache_memory_bytes, prefix caching off so every request holds its own blocks), then a ramp of n
 * concurrent requests of exactly L tokens (prompt + max_tokens, ignore_eos) while /metrics is sampled. The
 * ramp stops after the second step where requests waited for blocks or were preempted.
 * @module
 */
import { join } from "node:path";
import { e2e_ms, ttft_ms } from "../../analysis/request_metrics.ts";
import { percentile } from "../../base/stats.ts";
import { launch } from "../../engine/launch.ts";
import { runLoad, type SelfCheck } from "../../probe/load.ts";
import { selfCheckCells } from "../../probe/self_check.ts";
import { promptOfTokens } from "../../probe/prompts.ts";
import type { ProbeRequest } from "../../probe/types.ts";
import { writeCsv } from "../../run/csv.ts";
import { recordEngine, type Run } from "../../run/run_dir.ts";
import { GpuSampler } from "../../scrape/gpu_sampler.ts";
import { MetricsSampler } from "../../scrape/sampler.ts";
import { scrapeMetrics } from "../../scrape/scrape.ts";
import { fitsConcurrent } from "../../sim/plan.ts";
import { serveConfigFor } from "../lab_env.ts";
import { type KvContext, kvGpuUsedGib } from "./context.ts";
import type { KvParams } from "./params.ts";
import { KV_LOAD_SAMPLE_COLUMNS, type KvLoadRow, type KvLoadSample, type KvRow } from "./rows.ts";

/** The load confirmation's files in the run folder. */
export const KV_LOAD_FILES = { rows: "kv_load_confirmation.csv", samples: "kv_load_samples.csv" } as const;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * The load engine's kv_cache_memory_bytes: `pool` requests of L tokens, vLLM's null block, and half a
 * request of slack so the prediction is not on an edge: (pool x ceil(L/bs) + 1 + floor(ceil(L/bs)/2)) x bs
 * x bytes per token. Undefined for "default" (the engine's own pool).
 *
 * @example
 * ```ts
 * kvLoadPoolBytes(4, 4096, 16, 28672); // (4 x 256 + 1 + 128) x 16 x 28672 bytes
 * ```
 */
export function kvLoadPoolBytes(
  pool: number | "default",
  L: number,
  block_size: number,
  bytes_per_token: number,
): number | undefined {
  if (pool === "default") return undefined;
  const per = Math.ceil(L / block_size);
  return Math.ceil((pool * per + 1 + Math.floor(per / 2)) * block_size * bytes_per_token);
}

/** What the ramp measured. */
export interface KvLoadResult {
  rows: KvLoadRow[];
  samples: KvLoadSample[];
  version?: string;
}

const max = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
};

/**
 * Runs the load confirmation (see the module doc) and writes kv_load_samples.csv; returns one row per step.
 * `sweep` gives the block size and bytes per token when the model config is unknown.
 *
 * @example
 * ```ts
 * const { rows } = await measureKvLoad(run, ctx, P, sweepRows);
 * rows.find((r) => r.limited)?.concurrent; // predicted + 1
 * ```
 */
export async function measureKvLoad(
  run: Run,
  ctx: KvContext,
  P: KvParams,
  sweep: readonly KvRow[],
): Promise<KvLoadResult> {
  const L = P.load_len;
  const D = P.load_output_tokens;
  const measured = sweep.find((r) => r.started && r.block_size !== undefined);
  const bs0 = measured?.block_size ?? 16;
  const bpt = ctx.model?.kv_bytes_per_token ?? measured?.kv_bytes_per_token_measured;
  if (P.load_pool !== "default" && bpt === undefined) {
    throw new Error(
      "Cannot size the load engine's pool: no bytes per KV token (no model config and no started sweep point). " +
        "Set SERVELAB_KV_LOAD_POOL=default to use the engine's own pool.",
    );
  }
  const kv_cache_memory_bytes = kvLoadPoolBytes(P.load_pool, L, bs0, bpt ?? 0);
  const cfg = serveConfigFor(ctx.lab, {
    max_model_len: L,
    kv_cache_memory_bytes,
    enable_prefix_caching: false,
  });
  const baseline = await kvGpuUsedGib(ctx);
  await using engine = await launch(cfg, { log_dir: run.logsDir, log_name: "kv-load" });
  await recordEngine(run, "kv-load", cfg, engine.startup?.version);
  const headers = engine.headers();
  const first = await scrapeMetrics(engine.baseUrl, { headers, timeout_ms: 5_000 }).catch(() => undefined);
  const blocks = first?.metrics.cache_config?.num_gpu_blocks ?? engine.startup?.num_gpu_blocks;
  const bs = first?.metrics.cache_config?.block_size ?? engine.startup?.block_size ?? bs0;
  if (blocks === undefined) {
    throw new Error(
      `Cannot predict the load engine's capacity: neither /metrics cache_config_info nor its log (${engine.logPath}) ` +
        "states num_gpu_blocks.",
    );
  }
  const per = Math.ceil(L / bs);
  const predicted = Math.floor((blocks - 1) / per);
  if (predicted < 1) {
    throw new Error(`The load engine's pool (${blocks} blocks of ${bs}) holds no request of ${L} tokens.`);
  }
  let planned: number | undefined;
  if (ctx.model && (kv_cache_memory_bytes !== undefined || ctx.planner_gpu)) {
    planned = fitsConcurrent({
      model: ctx.model.ref,
      gpu: ctx.planner_gpu ?? "H100-80GB",
      kv_cache_memory_bytes,
      max_model_len: L,
      block_size: bs,
      tensor_parallel_size: cfg.tensor_parallel_size,
      dtype: cfg.dtype,
      extra_args: cfg.extra_args,
      concurrent: 1,
      tokens_per_request: L,
    }).max_concurrent_at_length;
  }

  const prompts = new Map<number, Promise<number[]>>();
  const prompt = (i: number) => {
    if (!prompts.has(i)) {
      prompts.set(
        i,
        promptOfTokens(engine.baseUrl, engine.model, L - D, { seed: ctx.lab.seed * 10_007 + i + 1, headers }),
      );
    }
    return prompts.get(i)!;
  };
  const start = Math.max(1, predicted - 2);
  const top = P.load_max_concurrency ?? 2 * predicted + 2;
  const rows: KvLoadRow[] = [];
  const samples: KvLoadSample[] = [];
  let limitedSteps = 0;
  for (let n = start, step = 0; n <= top && limitedSteps < 2; n++, step++) {
    const ids = await Promise.all(Array.from({ length: n }, (_, i) => prompt(i)));
    const req = (i: number): ProbeRequest => ({
      endpoint: "completions",
      model: engine.model,
      prompt: ids[i],
      max_tokens: D,
      min_tokens: D,
      ignore_eos: true,
      temperature: 0,
    });
    const before = await scrapeMetrics(engine.baseUrl, { headers, timeout_ms: 5_000 });
    const t0 = performance.now();
    const sampler = MetricsSampler.start(engine.baseUrl, { interval_ms: P.sample_ms, headers });
    const gpu = ctx.gpu_index !== undefined ? GpuSampler.start({ interval_ms: 200 }) : undefined;
    const load = await runLoad(engine.baseUrl, req, { kind: "concurrency", n }, {
      count: n,
      headers,
      timeout_ms: 300_000,
      max_lag_p99_ms: P.max_client_lag_ms,
      request_id_prefix: `kv-load-c${n}`,
    });
    const got = (await sampler.stop()).filter((s) => s.error === undefined);
    const gpuRows = (await gpu?.stop())?.filter((g) =>
      g.index === ctx.gpu_index && g.memory_used_mib !== undefined
    );
    const after = await scrapeMetrics(engine.baseUrl, { headers, timeout_ms: 5_000 });
    const pre = (after.metrics.counters.preemptions ?? 0) - (before.metrics.counters.preemptions ?? 0);
    const running_max = max(got.map((s) => s.running));
    const ok = load.records.filter((r) => r.ok);
    const ttfts = ok.map(ttft_ms).filter((x): x is number => x !== undefined);
    const gpuMax = max(gpuRows?.map((g) => g.memory_used_mib) ?? []);
    // Waiting alone also happens for a moment at arrival (prefill chunks under the token budget), and a
    // sample can miss the moment all n ran: KV-bound is a preemption, or waiting while fewer than n ran.
    const waiting_max = max(got.map((s) => s.waiting));
    const limited = pre > 0 || ((waiting_max ?? 0) > 0 && running_max !== undefined && running_max < n);
    rows.push({
      step,
      concurrent: n,
      request_tokens: L,
      prompt_tokens: L - D,
      max_tokens: D,
      num_gpu_blocks: blocks,
      block_size: bs,
      kv_cache_memory_bytes,
      predicted_max_concurrent: predicted,
      planned_max_concurrent: planned,
      requests_ok: ok.length,
      requests_failed: load.records.length - ok.length,
      running_max,
      waiting_max,
      preemptions: pre,
      kv_usage_max: max(got.map((s) => s.kv_usage)),
      ttft_p50_ms: percentile(ttfts, 50),
      ttft_max_ms: max(ttfts),
      e2e_max_ms: max(ok.map(e2e_ms)),
      limited,
      gpu_mem_used_max_gib: gpuMax !== undefined && baseline !== undefined
        ? Number((gpuMax * MiB / GiB - baseline).toFixed(4))
        : undefined,
      gpu_mem_source: gpuMax !== undefined && baseline !== undefined ? "nvidia-smi" : undefined,
      ...kvSelfCheck(load.self_check),
    });
    for (const s of got) {
      samples.push({
        step,
        concurrent: n,
        t_ms: Math.round(s.t_ms - t0),
        running: s.running,
        waiting: s.waiting,
        kv_usage: s.kv_usage,
        preemptions_total: s.preemptions_total,
      });
    }
    if (limited) limitedSteps++;
  }
  await writeCsv(join(run.dir, KV_LOAD_FILES.samples), samples, KV_LOAD_SAMPLE_COLUMNS);
  return { rows, samples, version: engine.startup?.version };
}

/** The KV load step's self-check cells (the step's client_ok, event-loop and send lag). */
export function kvSelfCheck(
  check: SelfCheck,
): Pick<KvLoadRow, "client_ok" | "event_loop_lag_p99_ms" | "send_lag_p99_ms" | "client_reason"> {
  const c = selfCheckCells(check);
  return {
    client_ok: c.client_ok,
    event_loop_lag_p99_ms: c.event_loop_lag_p99_ms,
    send_lag_p99_ms: c.send_lag_p99_ms,
    client_reason: c.client_reason,
  };
}
