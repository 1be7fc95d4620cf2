/**
 * What the embedded engine predicts for a kept run's Tier 3b points (the Tier contract's `beside`), and
 * the run's points as held-out validation rows (`keptRows`).
 * @module
 */
import { join } from "node:path";
import {
  besideConfig,
  besideMedian,
  type BesideOptions,
  besideRequests,
  type BesideRow,
  besideRow,
  besideRows,
  simulate,
  type ValidationRow,
} from "../../sim/mod.ts";
import { BATCHING_FILES } from "./measure.ts";

/**
 * Tier 3b beside the embedded engine: each concurrency point's requests (warm-up
 * and measured, in order, with their own lengths) replayed closed-loop at that concurrency; medians over
 * the measured requests, throughput over the measured requests' span.
 */
export function batchingBeside(dir: string, o: BesideOptions): BesideRow[] {
  // The points' requests are in the requests file; a run folder cut to its sweep has nothing to replay.
  try {
    Deno.statSync(join(dir, BATCHING_FILES.requests));
  } catch {
    return [];
  }
  const points = besideRows(join(dir, BATCHING_FILES.concurrency));
  const reqs = besideRows(join(dir, BATCHING_FILES.requests));
  const cfg = besideConfig(o, true);
  const out: BesideRow[] = [];
  for (const p of points) {
    const mine = reqs.filter((r) => r.point_id === p.point_id && r.ok === "true");
    if (mine.length === 0) continue;
    const c = Number(p.concurrency);
    const lengths = mine.map((r) => ({
      prompt: Number(r.prompt_tokens),
      output: Number(r.completion_tokens),
    }));
    const sim = simulate(
      cfg,
      { requests: besideRequests(lengths, 300), load: { kind: "concurrency", n: c } },
      {
        cold: false,
        keep_token_times: false,
      },
    );
    const measured = sim.records.filter((_, i) => mine[i].phase === "measure");
    const span = Math.max(...measured.map((r) => r.end_ms)) - Math.min(...measured.map((r) => r.arrival_ms));
    const n = measured.length;
    out.push(
      ...besideRow(
        "batching",
        `c${c} ${p.point_id}`,
        "ttft_ms",
        n,
        Number(p.ttft_p50_ms),
        besideMedian(measured.map((r) => r.ttft_ms)),
      ),
    );
    out.push(
      ...besideRow(
        "batching",
        `c${c} ${p.point_id}`,
        "tpot_ms",
        n,
        Number(p.tpot_p50_ms),
        besideMedian(measured.map((r) => r.tpot_ms ?? NaN)),
      ),
    );
    out.push(
      ...besideRow(
        "batching",
        `c${c} ${p.point_id}`,
        "throughput_rps",
        n,
        Number(p.throughput_rps),
        n / (span / 1000),
      ),
    );
  }
  return out;
}

/**
 * The run's batching points as validation rows (serve, medians, held out): one per concurrency point with
 * its median prompt and output lengths.
 */
export function batchingKeptRows(
  dir: string,
  runId: string,
  profile: string,
  model: string,
): ValidationRow[] {
  const points = besideRows(join(dir, BATCHING_FILES.concurrency));
  const reqs = besideRows(join(dir, BATCHING_FILES.requests));
  const rows: ValidationRow[] = [];
  for (const p of points) {
    const mine = reqs.filter((r) => r.point_id === p.point_id && r.ok === "true" && r.phase === "measure");
    const ttft = Number(p.ttft_p50_ms), tpot = Number(p.tpot_p50_ms), e2e = Number(p.e2e_p50_ms);
    if (mine.length === 0 || !(ttft > 0)) continue;
    rows.push({
      id: `run-${runId}-${p.point_id}`,
      source: `servelab run ${runId}`,
      source_note:
        `batching tier, ${BATCHING_FILES.concurrency} point ${p.point_id} (medians over its measured requests)`,
      vllm_version: "as the run's manifest states",
      gpu: profile,
      gpu_as_reported: profile,
      model,
      model_as_reported: model,
      benchmark: "serve",
      workload: {
        input_tokens: Math.round(besideMedian(mine.map((r) => Number(r.prompt_tokens)))),
        output_tokens: Math.max(1, Math.round(besideMedian(mine.map((r) => Number(r.completion_tokens))))),
        concurrency: Number(p.concurrency),
        num_prompts: mine.length,
      },
      measured: {
        ttft_ms: ttft,
        ...(tpot > 0 ? { itl_ms: tpot } : {}),
        ...(e2e > 0 ? { e2e_ms: e2e } : {}),
      },
      measured_stat: "median",
      split: "holdout",
    });
  }
  return rows;
}
