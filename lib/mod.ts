/**
 * servelab's public face: what a notebook (`import { ttft, show } from "../lib/mod.ts"`) and the CLI use.
 *
 * The tiers are namespaces with short names (`ttft.measure(run, lab, params)`, `batching.knee(rows)`), each
 * the tier folder's public.ts; everything else is named here, one line per area. What is not here stays
 * inside its area (its mod.ts): test seams (the dial server: lib/probe/testing/mod.ts), the tiny model's
 * GGUF writer (lib/tinymodel/mod.ts) and the embedded engine's internals (scheduler, block pool, runtime,
 * timing: lib/sim/mod.ts). lib/public_face_test.ts keeps it that way and bounds its size.
 * @module
 */

// The tiers, in the day's order (TIERS), each a namespace: tier, params, measure, findings, charts, write-up.
export * as ttft from "./tiers/ttft/public.ts";
export * as prefix from "./tiers/prefix/public.ts";
export * as kv from "./tiers/kv/public.ts";
export * as batching from "./tiers/batching/public.ts";

// What the tiers share: the list, the contract, the lab's SERVELAB_* parameters and the engine they serve.
export {
  type AnyTier,
  API_KEY_ENV_NOT_A_NAME,
  engineLabel,
  isEnvVarName,
  LabEnv,
  labEnv,
  RunSize,
  serveConfigFor,
  type Tier,
  type TierKey,
  TIERS,
} from "./tiers/mod.ts";

// Showing results in a notebook: show() every output, Markdown, tables, Plot charts, a progress line.
export {
  type Chart,
  code,
  flush,
  type Markdown,
  md,
  plot,
  type PlotOptions,
  progress,
  rawMd,
  show,
  table,
  type TableOptions,
} from "./report/mod.ts";

// Run folders (reports/<run-id>/) and their CSVs.
export { createRun, finishRun, openRun, readCsv, type Run, runDirFromEnv, writeCsv } from "./run/mod.ts";

// Engines: a typed config, launch() for vllm / sim / external, and a free loopback port.
export {
  type Engine,
  EngineExitedError,
  EngineKind,
  EngineStartError,
  freePort,
  launch,
  type LaunchOptions,
  parseServeConfig,
  ServeConfig,
  vllmAvailable,
} from "./engine/mod.ts";

// Load: one streamed request with raw timestamps, closed- and open-loop load, exact-length prompts.
export {
  type Clock,
  createClock,
  LoadShape,
  probe,
  type ProbeRequest,
  promptOfTokens,
  type RequestRecord,
  runLoad,
} from "./probe/mod.ts";

// The server's side: one /metrics scrape, vLLM's metric names, the difference between two scrapes.
export {
  type BucketHistogram,
  histogramMean,
  metricsDelta,
  parsePrometheusText,
  scrapeMetrics,
  serverMetrics,
} from "./scrape/mod.ts";

// Derivations from request records and statistics.
export { bootstrapCi, e2e_ms, itl_ms, percentile, summarize, tpot_ms, ttft_ms } from "./analysis/mod.ts";

// The day's write-up (notebooks/05_writeup.ipynb): facts, HTML fragments, the trace check.
export { buildWriteup, type Fact, h, htmlOutput, traceRunDir, writeWriteupFiles } from "./writeup/mod.ts";

// A tier notebook's lesson (issue 17): the launch shown, one openai SDK request beside the probe, the polars
// table checked against lib, "Check your learning".
export { assertAgrees } from "./report/mod.ts";
export {
  checkYourLearning,
  launchShown,
  lessonFacts,
  openaiOptions,
  predictedBeside,
  sdkVsProbe,
} from "./lesson/mod.ts";

// Health check and run comparison (`./servelab health`, `./servelab compare`).
export {
  defaultThresholds,
  formatHealth,
  grafanaDashboard,
  type HealthResult,
  parseThresholds,
  runHealth,
  type Thresholds,
} from "./health/mod.ts";
export { comparePage, type CompareResult, type CompareRow, compareRuns } from "./compare/mod.ts";

// The embedded engine's public entry points: the catalog, the capacity planner, offline simulation, its CLI.
export {
  type CapacityPlan,
  type ConcurrencyAnswer,
  fitsConcurrent,
  GpuSpec,
  listGpus,
  listModels,
  loadGpu,
  loadModel,
  ModelSpec,
  planCapacity,
  simCli,
  type SimResult,
  simulate,
  type SimulateOptions,
  syntheticRequests,
} from "./sim/mod.ts";

// The lab's own tiny model as a Hugging Face folder (`./servelab tiny-model`).
export { type TinyModelOptions, type TinyModelSpec, tinyModelSpec, writeTinyModel } from "./tinymodel/mod.ts";
