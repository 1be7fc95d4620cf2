/**
 * Benchmark: wall seconds to simulate a 10-point concurrency sweep of 500 requests each in virtual time
 * (`simulate()`), on the default profile (Qwen2.5-1.5B-Instruct on H100-80GB). Prints the number; no
 * assertion on time.
 *
 * Run: `deno run -A bench/sim_virtual_time.ts [--requests 500] [--prompt-tokens 512] [--max-tokens 128]`
 * @module
 */
import { parseServeConfig } from "../lib/engine/mod.ts";
import { simulate, syntheticRequests } from "../lib/sim/mod.ts";

/** One sweep point's virtual-time result and the wall time it took to simulate. */
export interface SweepPoint {
  concurrency: number;
  wall_ms: number;
  steps: number;
  virtual_s: number;
  output_tok_s: number;
}

/** Options of {@link virtualTimeSweep}; defaults are the benchmark. */
export interface SweepOptions {
  /** Default [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]. */
  concurrencies?: number[];
  /** Requests per point (default 500). */
  requests?: number;
  /** Default 512. */
  prompt_tokens?: number;
  /** Default 128. */
  max_tokens?: number;
}

/**
 * Simulates a closed-loop concurrency sweep and times each point on the wall clock.
 *
 * @example
 * ```ts
 * const points = virtualTimeSweep({ concurrencies: [1, 8], requests: 50 });
 * ```
 */
export function virtualTimeSweep(o: SweepOptions = {}): SweepPoint[] {
  const cfg = parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
  const count = o.requests ?? 500;
  return (o.concurrencies ?? [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]).map((n) => {
    const requests = syntheticRequests({
      count,
      prompt_tokens: o.prompt_tokens ?? 512,
      max_tokens: o.max_tokens ?? 128,
      seed: n,
    });
    const t0 = performance.now();
    const r = simulate(cfg, { requests, load: { kind: "concurrency", n } });
    const wall_ms = performance.now() - t0;
    const tokens = r.records.reduce((a, x) => a + x.completion_tokens, 0);
    return {
      concurrency: n,
      wall_ms,
      steps: r.steps,
      virtual_s: r.duration_ms / 1000,
      output_tok_s: tokens / (r.duration_ms / 1000),
    };
  });
}

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(Deno.args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    throw new Error(`${name} must be a positive number, got '${Deno.args[i + 1]}'. Example: ${name} 500`);
  }
  return v;
}

if (import.meta.main) {
  const requests = flag("--requests", 500);
  const t0 = performance.now();
  const points = virtualTimeSweep({
    requests,
    prompt_tokens: flag("--prompt-tokens", 512),
    max_tokens: flag("--max-tokens", 128),
  });
  const total_s = (performance.now() - t0) / 1000;
  for (const p of points) {
    console.log(
      `concurrency ${String(p.concurrency).padStart(3)}: ${p.wall_ms.toFixed(0).padStart(5)} ms wall, ` +
        `${p.steps} steps, ${p.virtual_s.toFixed(2)} s virtual, ${p.output_tok_s.toFixed(0)} output tok/s`,
    );
  }
  console.log(
    `sim_virtual_time: ${total_s.toFixed(2)} s wall for ${points.length} points x ${requests} requests`,
  );
}
