/**
 * batching_benchmark.md, generated from the tier's findings: environment, commands, method, key
 * numbers, the knee and the sweet spot with their reasons, the rate sweep, the Little's-law check, the
 * invalid points, the charts, and the explanation for a product owner. Every number comes from the run;
 * a run on the embedded engine says SIMULATED in its title and first line.
 * @module
 */
import { join } from "node:path";
import { writeCsv } from "../../run/csv.ts";
import { writeTextAtomic } from "../../run/atomic.ts";
import type { Run } from "../../run/run_dir.ts";
import { readManifest } from "../../run/manifest.ts";
import {
  BATCHING_SUMMARY_COLUMNS,
  type BatchingFindings,
  type BatchingPointSummary,
  batchingSummaryRows,
} from "./analyze.ts";
import { batchingGainPerDoubling } from "./knee.ts";
import { BATCHING_FILES, type BatchingMeasurement } from "./measure.ts";
import { batchingEnvVar, type BatchingParams } from "./params.ts";
import { shellEnv, shellLine } from "../../report/shell.ts";

/** What the write-up needs besides the findings. */
export interface BatchingWriteupInput {
  run_id: string;
  measurement: Pick<
    BatchingMeasurement,
    "engine_label" | "engine_kind" | "serve_args" | "peak_rps" | "rate_skipped" | "elapsed_s" | "config"
  >;
  findings: BatchingFindings;
  params: BatchingParams;
  /** The run size the parameters came from ("default" | "test"). */
  size: string;
  /** Issue 20: whether the serving hardware is known to have a GPU (the embedded engine's profile, vLLM, or a
   * GPU on this host); when false the observations do not explain the curve by GPU weight passes. Default:
   * from the engine kind and the run manifest's GPU. */
  gpu_known?: boolean;
}

/** Little's-law deviation (%) beyond which a point is not called a steady state. */
const LITTLE_STEADY_PCT = 10;

const n3 = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? "n/a" : String(Number(x.toPrecision(3)));
const cell = (x: string) => x.replace(/\|/g, "\\|");

function ci(
  s: BatchingPointSummary,
  m: "ttft_ms" | "tpot_ms" | "e2e_ms" | "itl_ms",
  p: 50 | 95 | 99,
): string {
  const e = s.latency[m][p];
  if (e.value === undefined) return "n/a";
  return e.lo === undefined ? n3(e.value) : `${n3(e.value)} [${n3(e.lo)}–${n3(e.hi)}]`;
}

function pointTable(points: readonly BatchingPointSummary[], kind: "concurrency" | "rate"): string {
  const head = kind === "concurrency"
    ? "| c | valid repeats | throughput req/s (median [min–max]) | output tok/s | goodput req/s | TTFT p50 ms | TTFT p95 ms [CI] | TPOT p95 ms [CI] | ITL p99 ms | E2E p95 ms | in flight / λW (dev %) | server waiting max | KV max % | preemptions |"
    : "| offered req/s | valid repeats | throughput req/s | goodput req/s | TTFT p50 ms | TTFT p95 ms [CI] | TPOT p95 ms [CI] | E2E p95 ms | client queue p99 ms | in flight / λW (dev %) | server waiting max |";
  const sep = head.replace(/[^|]+/g, "---");
  const rows = points.map((s) => {
    const validity = `${s.valid_repeats}/${s.repeats}${s.valid ? "" : " INVALID"}`;
    const little = `${n3(s.inflight_mean)} / ${n3(s.little_inflight)} (${n3(s.little_dev_pct)})`;
    const kv = s.server_kv_usage_max === undefined ? "n/a" : n3(100 * s.server_kv_usage_max);
    return kind === "concurrency"
      ? `| ${s.concurrency} | ${validity} | ${n3(s.throughput_rps)} [${n3(s.throughput_min_rps)}–${
        n3(s.throughput_max_rps)
      }] | ` +
        `${n3(s.output_tok_s)} | ${n3(s.goodput_rps)} | ${ci(s, "ttft_ms", 50).split(" ")[0]} | ${
          ci(s, "ttft_ms", 95)
        } | ` +
        `${ci(s, "tpot_ms", 95)} | ${n3(s.latency.itl_ms[99].value)} | ${
          n3(s.latency.e2e_ms[95].value)
        } | ${little} | ` +
        `${n3(s.server_waiting_max)} | ${kv} | ${n3(s.server_preemptions)} |`
      : `| ${n3(s.target_rps)} (${n3(s.rate_fraction)}× peak) | ${validity} | ${n3(s.throughput_rps)} | ${
        n3(s.goodput_rps)
      } | ` +
        `${ci(s, "ttft_ms", 50).split(" ")[0]} | ${ci(s, "ttft_ms", 95)} | ${ci(s, "tpot_ms", 95)} | ` +
        `${n3(s.latency.e2e_ms[95].value)} | ${n3(s.latency.queue_delay_ms[99].value)} | ${little} | ${
          n3(s.server_waiting_max)
        } |`;
  });
  return [head, sep, ...rows].join("\n");
}

/**
 * Observations computed from the findings: what batching bought, what the knee cost, when the server's
 * queue appeared, KV usage and preemptions, Little's law, and overload in the rate sweep.
 *
 * @example
 * ```ts
 * for (const o of batchingObservations(F)) console.log("-", o);
 * ```
 */
export function batchingObservations(F: BatchingFindings, opts: { gpu_known?: boolean } = {}): string[] {
  const v = F.concurrency.filter((s) => s.valid && s.throughput_rps !== undefined);
  const out: string[] = [];
  if (v.length >= 2) {
    const a = v[0];
    const k = F.knee.kind === "knee"
      ? v.find((s) => s.concurrency === (F.knee as { concurrency: number }).concurrency)
      : undefined;
    const b = k ?? v[v.length - 1];
    const tpA = a.latency.tpot_ms[50].value;
    const tpB = b.latency.tpot_ms[50].value;
    out.push(
      `From c=${a.concurrency} to c=${b.concurrency} throughput grows ${
        n3(b.throughput_rps! / a.throughput_rps!)
      }× ` +
        `(${n3(a.throughput_rps)} → ${n3(b.throughput_rps)} req/s) while p50 TPOT goes ${n3(tpA)} → ${
          n3(tpB)
        } ms` +
        (opts.gpu_known === false
          ? ". The lab saw no GPU behind this server, so it does not explain the curve by GPU weight passes."
          : ": batching serves many sequences with one pass over the weights, so concurrency is nearly free until " +
            "the GPU's compute or the step's token budget fills."),
    );
    const last = v[v.length - 1];
    if (last !== b) {
      out.push(
        `Past c=${b.concurrency}, up to c=${last.concurrency}: throughput only ${
          n3(last.throughput_rps! / b.throughput_rps!)
        }× ` +
          `(${
            n3(
              100 *
                batchingGainPerDoubling(
                  b.concurrency!,
                  b.throughput_rps!,
                  last.concurrency!,
                  last.throughput_rps!,
                ),
            )
          }% per doubling) ` +
          `while p95 TTFT goes ${n3(b.latency.ttft_ms[95].value)} → ${
            n3(last.latency.ttft_ms[95].value)
          } ms and p95 TPOT ` +
          `${n3(b.latency.tpot_ms[95].value)} → ${
            n3(last.latency.tpot_ms[95].value)
          } ms (Little's law: at a fixed ` +
          "throughput, latency grows with the requests in flight).",
      );
    }
  }
  const waiting = F.concurrency.find((s) => (s.server_waiting_max ?? 0) > 0);
  if (waiting) {
    out.push(
      `The server's own queue appears from c=${waiting.concurrency} (waiting up to ${
        n3(waiting.server_waiting_max)
      }): ` +
        "requests wait for the step's token budget to take their prefill.",
    );
  } else if (F.concurrency.some((s) => s.server_waiting_max !== undefined)) {
    out.push("The server never had requests waiting: every request was scheduled on arrival.");
  }
  const kv = F.concurrency.map((s) => s.server_kv_usage_max).filter((x): x is number => x !== undefined);
  if (kv.length) {
    const pre = F.concurrency.reduce((a, s) => a + (s.server_preemptions ?? 0), 0);
    out.push(
      `KV cache usage peaked at ${n3(100 * Math.max(...kv))}% with ${pre} preemptions: ` +
        (pre > 0
          ? "the KV cache filled and requests were recomputed (PagedAttention's preemption), which costs throughput."
          : "memory was not what limited the batch here; compute and the step budget were."),
    );
  }
  if (F.little_max_abs_dev_pct !== undefined) {
    const off = F.concurrency.filter((s) => s.valid && Math.abs(s.little_dev_pct ?? 0) > LITTLE_STEADY_PCT);
    out.push(
      off.length === 0
        ? `Little's law (in flight = throughput × mean E2E) holds within ${
          n3(F.little_max_abs_dev_pct)
        }% on every ` +
          "valid concurrency point: throughput and latency describe the same steady state."
        : `Little's law is off by more than ${LITTLE_STEADY_PCT}% at c=${
          off.map((s) => s.concurrency).join(", ")
        } ` +
          `(up to ${
            n3(F.little_max_abs_dev_pct)
          }%): those points are short against their latency, so their ` +
          "throughput is approximate.",
    );
  }
  const over = F.rate.filter((s) => s.valid && (s.little_dev_pct ?? 0) < -LITTLE_STEADY_PCT);
  if (over.length) {
    out.push(
      `At ${
        over.map((s) => `${n3(s.target_rps)} req/s`).join(", ")
      } of Poisson arrivals the requests in flight ` +
        `(${over.map((s) => n3(s.inflight_mean)).join(", ")}) exceed throughput × latency: arrivals outran ` +
        "completions and the queue grew during the point. There latency depends on how long the overload lasts, " +
        "not only on the load (The Tail at Scale: plan for the rate, not the peak).",
    );
  }
  return out;
}

/**
 * The sweet spot in a product owner's words, every number from the findings.
 *
 * @example
 * ```ts
 * await show(md`${batchingProductOwnerText(F, "H100-80GB profile, SIMULATED")}`);
 * ```
 */
export function batchingProductOwnerText(F: BatchingFindings, engine: string): string {
  const s = F.sweet;
  if (s.kind !== "sweet_spot") {
    const valid = F.concurrency.filter((x) => x.valid);
    if (valid.length === 0) {
      const why = [...new Set(F.invalid.map((i) => i.reason.replace(/\s*\(.*\)$/, "")))].join("; ");
      return `No concurrency point of this run was valid (${why || "no points"}), so the data support no ` +
        `statement about what one replica (${engine}) can serve: the points were rejected for the ` +
        "measurement, not for the server. Rerun the sweep on a less loaded client machine before choosing a " +
        "concurrency." + (F.concurrency[0]?.latency.ttft_ms[95].value !== undefined
          ? ` (Taken at face value, c=${F.concurrency[0].concurrency} had p95 TTFT ${
            n3(F.concurrency[0].latency.ttft_ms[95].value)
          } ms against the SLO's ${F.slo.ttft_p95_ms} ms; an invalid point decides nothing.)`
          : "");
    }
    const low = valid[0];
    return `At this SLO (95% of first tokens within ${F.slo.ttft_p95_ms} ms, at most ${F.slo.tpot_p95_ms} ms per ` +
      `token), one replica (${engine}) missed the SLO even at the lowest valid concurrency (c=${low.concurrency}: ` +
      `p95 TTFT ${n3(low.latency.ttft_ms[95].value)} ms, p95 TPOT ${
        n3(low.latency.tpot_ms[95].value)
      } ms): ` +
      "loosen the SLO, shorten prompts, or use a faster GPU or a smaller model.";
  }
  const p = F.concurrency.find((x) => x.concurrency === s.concurrency)!;
  const tps = p.latency.tpot_ms[50].value;
  const next = F.concurrency.find((x) =>
    x.valid && x.concurrency! > s.range.hi && x.throughput_rps !== undefined
  );
  const more = next
    ? ` Pushing one replica to ${next.concurrency} requests would serve ` +
      `${
        n3(100 * (next.throughput_rps! / p.throughput_rps! - 1))
      }% more requests per second, while p95 time ` +
      `per token goes from ${n3(p.latency.tpot_ms[95].value)} to ${
        n3(next.latency.tpot_ms[95].value)
      } ms and p95 ` +
      `time to first token from ${n3(p.latency.ttft_ms[95].value)} to ${
        n3(next.latency.ttft_ms[95].value)
      } ms.`
    : "";
  const cap = F.capacity?.kind === "capacity"
    ? ` With random (Poisson) arrivals one replica keeps that promise up to about ${
      n3(F.capacity.target_rps)
    } ` +
      "requests per second: plan replicas from that number, not from the peak."
    : "";
  return `Each replica (${engine}) should work on about ${s.concurrency} requests at a time` +
    (s.range.lo < s.range.hi ? ` (anywhere from ${s.range.lo} to ${s.range.hi} is fine)` : "") +
    `. There it completes about ${n3(p.throughput_rps)} requests per second, 95% of users see the first ` +
    `words within ${n3(p.latency.ttft_ms[95].value)} ms, and text streams at about ` +
    `${tps ? n3(1000 / tps) : "n/a"} tokens per second per user.${more} To serve more users, add replicas ` +
    `rather than squeezing more requests into one.${cap}`;
}

/**
 * A short name of the engine for prose: the GPU profile and SIMULATED for the embedded engine, else the label.
 *
 * @example
 * ```ts
 * batchingEngineShort(M); // "H100-80GB profile, SIMULATED"
 * ```
 */
export function batchingEngineShort(
  M: Pick<BatchingMeasurement, "engine_kind" | "engine_label" | "config">,
): string {
  // An external server that is the embedded engine already has a label starting "SIMULATED:".
  return M.engine_kind === "sim" ? `${M.config.sim.gpu} profile, SIMULATED` : M.engine_label;
}

/**
 * The batching_benchmark.md text.
 *
 * @example
 * ```ts
 * const text = batchingBenchmarkMd({ run_id: run.id, measurement: M, findings: F, params: P, size: lab.size });
 * ```
 */
export function batchingBenchmarkMd(input: BatchingWriteupInput): string {
  const { measurement: M, findings: F, params: P } = input;
  const sim = M.engine_kind === "sim" || M.engine_label.startsWith("SIMULATED");
  const title = `# Batching under concurrency — benchmark${sim ? " (SIMULATED)" : ""}`;
  const simNote = sim
    ? `> **SIMULATED.** ${M.engine_label}. These numbers come from the embedded engine's model of vLLM on that ` +
      "GPU profile, served in real time on this machine; they show the behaviour, not a real GPU's figures.\n\n"
    : "";
  const serve = M.serve_args.length
    ? (M.config.cpus !== undefined ? `taskset -c ${M.config.cpus} ` : "") +
      (sim ? "./servelab sim serve " : M.engine_kind === "llamacpp" ? "llama-server " : "vllm serve ") +
      shellLine(M.serve_args.filter((a, i, xs) => !(xs[i - 1] === "--port" || a === "--port")))
    : `# external engine at ${M.config.url}: not started by the lab`;
  const knee = F.knee.kind === "knee"
    ? `c=${F.knee.concurrency}`
    : F.knee.kind === "not_reached"
    ? "not reached"
    : "not found";
  const sweet = F.sweet.kind === "sweet_spot"
    ? `c=${F.sweet.concurrency} (range ${F.sweet.range.lo}–${F.sweet.range.hi}; set by ${
      F.sweet.bound.replace("_", " ")
    })`
    : "none";
  const repeatsKnee = F.knee_by_repeat.map((k) => `repeat ${k.repeat}: ${k.concurrency ?? "none"}`).join(
    ", ",
  );
  const invalid = F.invalid.length
    ? F.invalid.map((i) => `- ${i.point_id}: ${cell(i.reason)}`).join("\n")
    : "- none: every point passed the client, error and engine-timing checks.";
  const params = ([
    "concurrency",
    "repeats",
    "rate_fractions",
    "prompt_tokens",
    "output_tokens",
    "slo_ttft_ms",
    "slo_tpot_ms",
    "knee_gain",
  ] as const)
    .map((k) => shellEnv({ [batchingEnvVar(k)]: Array.isArray(P[k]) ? (P[k] as number[]).join(",") : P[k] }))
    .join(" ");
  const rateSection = F.rate.length
    ? `${pointTable(F.rate, "rate")}\n\n${F.capacity?.reason ?? ""}`
    : `Not run: ${M.rate_skipped ?? "no rate points"}.`;
  return `${title}

${simNote}Run \`${input.run_id}\`, size \`${input.size}\`, ${n3(M.elapsed_s)} s of measurement.

## Key numbers

- **Knee:** ${knee}. ${F.knee.reason}
- **Sweet spot:** ${sweet}. ${F.sweet.reason}
- **Peak throughput (closed loop):** ${
    F.peak
      ? `${n3(F.peak.throughput_rps)} req/s (${
        n3(F.peak.output_tok_s)
      } output tok/s) at c=${F.peak.concurrency}`
      : "n/a"
  }.
- **Highest Poisson rate meeting the SLO:** ${
    F.capacity?.kind === "capacity" ? `${n3(F.capacity.target_rps)} req/s` : "none"
  }.
- **Knee per repeat:** ${repeatsKnee || "n/a"} (how stable the rule is run to run).

## For a product owner

${batchingProductOwnerText(F, batchingEngineShort(M))}

## Environment and commands

- Engine: ${M.engine_label}
- Model: ${M.config.model}
- Engine command: \`${serve}\`
- Rerun this tier: \`${
    shellEnv({ SERVELAB_ENGINE: M.engine_kind, SERVELAB_SIZE: input.size, SERVELAB_MODEL: M.config.model })
  } ${params} ./servelab run\` (or run notebooks/04_batching.ipynb with the same variables).

## Method

- Workload: ${P.prompt_tokens}-token prompts (exact, through the engine's /tokenize; the first tokens unique per request, so no prefix-cache hits), ${P.output_tokens} ± ${
    n3(100 * P.output_spread)
  }% output tokens (exact: ignore_eos), streamed completions.
- Concurrency sweep (closed loop): c = ${
    P.concurrency.join(", ")
  }; per point ${P.warmup_rounds}×c warm-up requests (excluded), then max(${P.min_requests}, ${P.rounds}×c) measured; at most ${P.max_point_s} s of sending per point.
- Rate sweep (open loop, Poisson arrivals): ${
    P.rate_fractions.map((f) => `${f}×`).join(", ")
  } the peak throughput measured above${
    M.peak_rps ? ` (${n3(M.peak_rps)} req/s)` : ""
  }; ${P.rate_warmup_s} s of warm-up arrivals, then ${P.rate_duration_s} s measured.
- Every point repeated ${P.repeats} times, repeats interleaved (repeat 1 of every point, then repeat 2, ...), one engine for the whole tier.
- Each point sends warm-up requests, the measured ones, then cool-down requests (${P.cooldown_rounds}×c closed loop, ${P.rate_cooldown_s} s of arrivals open loop), so no measured request runs in the ramp-up or the drain.
- Throughput: completions per second on the steady window (first to last measured send). TTFT and E2E: from the send in the concurrency sweep (as vLLM bench; the client's delay in re-sending is the queue delay column) and from the scheduled arrival in the rate sweep (what a user arriving on time sees). TPOT = (E2E − TTFT)/(tokens − 1); ITL = every inter-chunk gap.
- Confidence intervals: ${F.ci.method}.
- Goodput: requests meeting every SLO (TTFT ≤ ${P.slo_ttft_ms} ms and TPOT ≤ ${P.slo_tpot_ms} ms) per second, as vLLM bench's --goodput.
- Knee rule: the lowest concurrency from which no further doubling gains ${
    n3(100 * P.knee_gain)
  }% or more throughput (median of valid repeats). Sweet spot: the highest concurrency whose p95 TTFT ≤ ${P.slo_ttft_ms} ms and p95 TPOT ≤ ${P.slo_tpot_ms} ms, with every lower point meeting them too, capped at the knee; range from the lowest concurrency giving ${
    n3(100 * P.range_fraction)
  }% of its throughput to the highest meeting the SLO within the knee region.
- Validity per point and repeat: client event-loop (and open-loop dispatch) lag p99 ≤ ${P.max_client_lag_ms} ms; closed loop ≥ ${
    n3(100 * P.min_inflight_fraction)
  }% of c in flight; open loop send rate within ±${n3(100 * P.rate_tolerance)}%; errors ≤ ${
    n3(100 * P.max_error_fraction)
  }%; embedded engine only, its lateness behind its own timeline p95 ≤ ${P.max_engine_lateness_ms} ms. Invalid points are kept in the CSVs and charts, and never used by the rules.

## Concurrency sweep

${pointTable(F.concurrency, "concurrency")}

## Poisson rate sweep

${rateSection}

## Observations

${batchingObservations(F, { gpu_known: input.gpu_known }).map((o) => `- ${o}`).join("\n")}

## Invalid points

${invalid}

## Files and charts

- \`${BATCHING_FILES.concurrency}\`, \`${BATCHING_FILES.rate}\`: one row per point and repeat.
- \`${BATCHING_FILES.requests}\`: one row per request (warm-up included, marked), with its inter-chunk gaps.
- \`${BATCHING_FILES.server}\`: the server's running, waiting, KV usage and preemptions sampled during each point.
- \`${BATCHING_FILES.summary}\`: per point, each metric's median or percentile with its confidence interval (long format).
- Charts in \`04_batching.html\`: throughput against concurrency (knee, sweet spot and range marked), TTFT and TPOT percentiles with confidence intervals against the SLO, the throughput–latency trade-off, Little's law, the server over time, and the rate sweep.
`;
}

/**
 * Writes batching_summary.csv and batching_benchmark.md into the run folder; returns their paths.
 *
 * @example
 * ```ts
 * const out = await writeBatchingReport(run, { run_id: run.id, measurement: M, findings: F, params: P, size: lab.size });
 * ```
 */
export async function writeBatchingReport(
  run: Run,
  input: BatchingWriteupInput,
): Promise<{ summary: string; benchmark: string }> {
  const summary = join(run.dir, BATCHING_FILES.summary);
  const benchmark = join(run.dir, BATCHING_FILES.benchmark);
  if (input.gpu_known === undefined && input.measurement.engine_kind === "external") {
    const m = await readManifest(run.manifestPath).catch(() => undefined);
    input = { ...input, gpu_known: m?.gpu.kind === "nvidia" };
  }
  await writeCsv(summary, batchingSummaryRows(input.findings), BATCHING_SUMMARY_COLUMNS);
  await writeTextAtomic(benchmark, batchingBenchmarkMd(input));
  return { summary, benchmark };
}
