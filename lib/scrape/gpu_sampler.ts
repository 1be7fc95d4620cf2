/**
 * GPU memory and utilization sampled during a run with `nvidia-smi`, one row per GPU per sample (long format).
 * Call `gpuSnapshot()` first: on a machine without a GPU every sample would be an error row.
 * @module
 */
import { IntervalLoop } from "./_interval_sampler.ts";
import { type GpuQueryOptions, queryGpus } from "./gpu.ts";
import { PERFORMANCE_CLOCK, type ScrapeClock } from "./scrape.ts";

/** One GPU at one sample time. A failed query is one row with `error` and no GPU fields. */
export interface GpuSample {
  /** Clock time the query started. */
  t_ms: number;
  index?: number;
  uuid?: string;
  memory_used_mib?: number;
  memory_total_mib?: number;
  utilization_gpu_pct?: number;
  /** Why this query failed. */
  error?: string;
}

/** Options of {@link GpuSampler.start}. */
export interface GpuSamplerOptions extends Omit<GpuQueryOptions, "processes" | "signal"> {
  /** Time between samples (default 1000). */
  interval_ms?: number;
  /** Clock for `t_ms`: the run's clock (default `performance.now()`). */
  clock?: ScrapeClock;
}

/**
 * Samples every GPU's memory and utilization every `interval_ms` until stopped. Never throws while running:
 * a failed query (or no GPU visible) becomes a row with an `error`.
 *
 * @example
 * ```ts
 * import { GpuSampler, gpuSnapshot } from "./mod.ts";
 * if (await gpuSnapshot()) {
 *   await using sampler = GpuSampler.start({ interval_ms: 1000 });
 *   // ... run the load ...
 *   const rows = await sampler.stop(); // [{t_ms, index, memory_used_mib, ...}, ...]
 * }
 * ```
 */
export class GpuSampler implements AsyncDisposable {
  readonly #loop: IntervalLoop<GpuSample>;

  private constructor(opts: GpuSamplerOptions) {
    const interval_ms = opts.interval_ms ?? 1000;
    this.#loop = new IntervalLoop<GpuSample>(
      interval_ms,
      opts.clock ?? PERFORMANCE_CLOCK,
      async (t_ms, signal) => {
        const gpus = await queryGpus({
          ...opts,
          timeout_ms: opts.timeout_ms ?? Math.max(interval_ms, 5000),
          signal,
        });
        if (gpus === undefined || gpus.length === 0) {
          return [{
            t_ms,
            error: `No GPU visible: ${opts.command ?? "nvidia-smi"} is missing or reports no device.`,
          }];
        }
        return gpus.map((g) => ({
          t_ms,
          index: g.index,
          uuid: g.uuid,
          memory_used_mib: g.memory_used_mib,
          memory_total_mib: g.memory_total_mib,
          utilization_gpu_pct: g.utilization_gpu_pct,
        }));
      },
      (t_ms, error) => [{ t_ms, error: error instanceof Error ? error.message : String(error) }],
    );
  }

  /** Starts sampling. */
  static start(opts: GpuSamplerOptions = {}): GpuSampler {
    return new GpuSampler(opts);
  }

  /** The rows so far (a copy). */
  get samples(): GpuSample[] {
    return this.#loop.rows;
  }

  /** Stops sampling (an in-flight query is aborted and dropped) and returns every row. Idempotent. */
  stop(): Promise<GpuSample[]> {
    return this.#loop.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
