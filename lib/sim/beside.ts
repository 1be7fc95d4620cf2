/**
 * The embedded engine's prediction beside a real-engine run, the engine's part: the replay's serve config,
 * requests of given lengths, a row of measured beside predicted, and the page. Which points of a run are
 * replayed is each tier's business (the Tier contract's `beside`, e.g. lib/tiers/ttft/beside.ts);
 * lib/writeup/beside.ts `besideRun` loops over the tiers. tools/sim_beside.ts writes the page.
 *
 * @example
 * ```ts
 * const rows = besideRun("docs/examples/vllm-cpu-tiny", { profile: "cpu-calibrated", model: "servelab/tiny-llama" });
 * besideMarkdown(rows, { profile: "cpu-calibrated", model: "servelab/tiny-llama", run: "r1", engine: "vllm" });
 * ```
 * @module
 */
import { parse } from "csv-parse/sync";
import { parseServeConfig, type ServeConfig } from "../engine/config.ts";
import { loadGpu } from "./catalog.ts";
import { syntheticRequests, type WorkloadRequest } from "./simulate.ts";

/** One number of a run beside the engine's prediction. */
export interface BesideRow {
  /** The tier's key. */
  tier: string;
  point: string;
  metric: "ttft_ms" | "tpot_ms" | "throughput_rps";
  /** How many requests the measured median covers. */
  n: number;
  measured: number;
  /** SIMULATED. */
  predicted: number;
  error: number;
}

/** Options of {@link besideRun}. */
export interface BesideOptions {
  /** Device profile of data/gpus/ the prediction uses (named on the page). */
  profile: string;
  /** Catalog model id standing for the run's model (a local path is not in the catalog). */
  model: string;
  /** Serve flags the run used that change the engine's timing (default: the lab's vLLM CPU flags). */
  config?: Partial<{ enforce_eager: boolean; dtype: "float32" | "bfloat16" | "float16" | "auto" }>;
}

/** A kept run's CSV as text rows, for a tier's replay; a missing file names the fix. */
export function besideRows(path: string): Record<string, string>[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}. Give the folder of a kept run.`);
  }
  return parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/** The median of the finite values; NaN when none. */
export const besideMedian = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The serve config the replay runs the embedded engine with. */
export function besideConfig(o: BesideOptions, prefix: boolean): ServeConfig {
  loadGpu(o.profile);
  return parseServeConfig({
    engine: "sim",
    model: o.model,
    max_model_len: 8192,
    enable_prefix_caching: prefix,
    enforce_eager: o.config?.enforce_eager ?? true,
    dtype: o.config?.dtype ?? "float32",
    seed: 0,
    env: { VLLM_CPU_KVCACHE_SPACE: "1" },
    sim: { gpu: o.profile },
  }, "beside config");
}

/** Requests of the given lengths, each prompt distinct (no prefix-cache hits, as the tiers send them). */
export function besideRequests(
  lengths: { prompt: number; output: number }[],
  seed: number,
): WorkloadRequest[] {
  return lengths.map((l, i) => ({
    ...syntheticRequests({
      count: 1,
      prompt_tokens: l.prompt,
      max_tokens: Math.max(1, l.output),
      seed: seed + i,
    })[0],
  }));
}

/** One measured number beside its prediction, or none when either is not a positive finite number. */
export function besideRow(
  tier: string,
  point: string,
  metric: BesideRow["metric"],
  n: number,
  measured: number,
  predicted: number,
): BesideRow[] {
  if (!Number.isFinite(measured) || !Number.isFinite(predicted) || measured <= 0) return [];
  return [{ tier, point, metric, n, measured, predicted, error: (predicted - measured) / measured }];
}

/** A measured or predicted number as the beside pages print it: whole above 100, three figures below. */
export const besideNumber = (x: number): string => x >= 100 ? x.toFixed(0) : x.toPrecision(3);

/** The page: every measured number beside the SIMULATED prediction and the error, and the median |error|. */
export function besideMarkdown(
  rows: BesideRow[],
  o: BesideOptions & { run: string; engine: string },
): string {
  const lines = [
    `# Predicted beside measured: run ${o.run}`,
    "",
    `Measured: ${o.engine}. Predicted (**SIMULATED**): the embedded engine on the \`${o.profile}\` profile ` +
    `with model ${o.model}, each point's requests replayed in virtual time with the run's own ` +
    "prompt and output lengths, order and concurrency (`deno run -A tools/sim_beside.ts`). Error = " +
    "predicted / measured - 1.",
    "",
    "| tier | point | metric | n | measured | predicted (SIMULATED) | error |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.tier} | ${r.point} | ${r.metric} | ${r.n} | ${besideNumber(r.measured)} | ${
        besideNumber(r.predicted)
      } | ` +
        `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(0)} % |`,
    );
  }
  lines.push("", "Median |error| per metric:", "");
  for (const m of ["ttft_ms", "tpot_ms", "throughput_rps"] as const) {
    const es = rows.filter((r) => r.metric === m).map((r) => Math.abs(r.error));
    if (es.length) lines.push(`- ${m}: ${(besideMedian(es) * 100).toFixed(0)} % over ${es.length} points`);
  }
  lines.push(
    "",
    "Not replayed: the TTFT tier's idle and chat series, and the KV tier (its measured numbers are the " +
      "engine's memory plan, and its page sets the embedded engine's planner beside them).",
  );
  return lines.join("\n") + "\n";
}
