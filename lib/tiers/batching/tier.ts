/**
 * Tier 3b, batching under concurrency, as one unit: its files, parameters, measurement, reader, facts, key
 * numbers, chart, health thresholds and compare points (the contract: lib/tiers/tier.ts).
 * @module
 */
import { batchingIndexChart } from "./charts.ts";
import { type Tier, tierFile } from "../tier.ts";
import { type BatchingFacts, batchingFacts } from "./facts.ts";
import { batchingHealth } from "./health.ts";
import { BATCHING_FILES, type BatchingMeasurement, measureBatching } from "./measure.ts";
import { BATCHING_PRESETS, type BatchingParams, batchingParams } from "./params.ts";
import { BatchingPointRow, BatchingRequestRow, BatchingServerRow } from "./point_row.ts";
import { BatchingSummaryRow } from "./analyze.ts";
import { type BatchingResults, readBatchingResults } from "./results.ts";
import { BATCHING_COMPARE_POINTS, batchingCompare, batchingCompareCurves } from "./compare.ts";
import { batchingQuestions } from "./questions.ts";
import { batchingBeside, batchingKeptRows } from "./beside.ts";

/** Tier 3b. */
export const batchingTier = {
  key: "batching" as const,
  number: "3b",
  title: "Batching under concurrency",
  notebook: "04_batching",
  files: [
    tierFile(
      BATCHING_FILES.concurrency,
      BatchingPointRow,
      "one concurrency point and repeat of the closed loop",
    ),
    tierFile(BATCHING_FILES.rate, BatchingPointRow, "one rate point and repeat of the open (Poisson) loop"),
    tierFile(
      BATCHING_FILES.requests,
      BatchingRequestRow,
      "one request of one point, warm-up and cool-down kept",
    ),
    tierFile(BATCHING_FILES.server, BatchingServerRow, "one /metrics sample during one point"),
    tierFile(
      BATCHING_FILES.summary,
      BatchingSummaryRow,
      "one statistic of one metric at one point (long format)",
    ),
  ],
  writeup: BATCHING_FILES.benchmark,
  params: (lab, env) => batchingParams(lab.size, env),
  measure: (run, lab, params) => measureBatching(run, lab, params),
  read: (dir) => readBatchingResults({ dir }),
  facts: (book) => batchingFacts(book),
  keyNumbers: (f) => [
    { label: "lowest concurrency of the sweep", fact: f.one.concurrency },
    { label: "throughput there", fact: f.one.throughput_rps, index: "throughput at the lowest concurrency" },
    {
      label: "output tokens/s there",
      fact: f.one.output_tok_s,
      index: "output tok/s at the lowest concurrency",
    },
    {
      label: "concurrency target (sweet spot: highest meeting the SLO, capped at the knee)",
      fact: f.target.concurrency,
      index: "concurrency target (sweet spot)",
    },
    { label: "sweet spot range, from", fact: f.range_lo },
    { label: "sweet spot range, to", fact: f.range_hi },
    { label: "throughput there", fact: f.target.throughput_rps, index: "throughput at the target" },
    { label: "output tokens/s there", fact: f.target.output_tok_s, index: "output tok/s at the target" },
    { label: "TTFT p95 there", fact: f.target.ttft_p95_ms },
    { label: "throughput gain, target / lowest", fact: f.gain },
    { label: "output tok/s gain, target / lowest", fact: f.tok_gain },
    { label: "ceiling (goodput peak; not a target)", fact: f.ceiling },
    { label: "invalid point repeats (left out of every rule)", fact: f.invalid_points },
  ],
  // Throughput and p95 latency against concurrency with the knee, the knee rule of the run's size.
  indexChart: (data, subtitle) => {
    const size = (data.manifest.params as { size?: string } | undefined)?.size === "test"
      ? "test"
      : "default";
    return batchingIndexChart(
      data.csv.get(BATCHING_FILES.concurrency) ?? [],
      subtitle,
      BATCHING_PRESETS[size].knee_gain,
    );
  },
  health: (book, facts) => batchingHealth(book, facts),
  beside: (dir, o) => batchingBeside(dir, o),
  keptRows: (dir, runId, profile, model) => batchingKeptRows(dir, runId, profile, model),
  comparePoints: BATCHING_COMPARE_POINTS,
  compare: batchingCompare,
  compareCurves: batchingCompareCurves,
  questions: (f, all) => batchingQuestions(f, all),
} satisfies Tier<BatchingFacts, BatchingParams, BatchingMeasurement, BatchingResults>;
