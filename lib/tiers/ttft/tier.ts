/**
 * Tier 1, time to first token, as one unit: its files, parameters, measurement, reader, facts, key
 * numbers, and compare points (the contract: lib/tiers/tier.ts).
 * @module
 */
import { type Tier, tierFile } from "../tier.ts";
import { type TtftFacts, ttftFacts } from "./facts.ts";
import { measureTtft, type TtftMeasurement } from "./measure.ts";
import { type TtftParams, ttftParams } from "./params.ts";
import {
  readTtftTables,
  TTFT_FILES,
  TtftRequestRow,
  TtftServerRow,
  TtftStartupRow,
  type TtftTables,
} from "./tables.ts";
import { TTFT_COMPARE_POINTS, ttftCompare, ttftCompareCurves } from "./compare.ts";
import { ttftIndexChart } from "./charts.ts";
import { ttftQuestions } from "./questions.ts";
import { ttftBeside } from "./beside.ts";

/** Tier 1. */
export const ttftTier = {
  key: "ttft" as const,
  number: "1",
  title: "Time to first token",
  notebook: "01_ttft",
  files: [
    tierFile(
      TTFT_FILES.requests,
      TtftRequestRow,
      "one request: cold, warm, after idle, by prompt length, chat",
    ),
    tierFile(TTFT_FILES.startup, TtftStartupRow, "one startup phase of one launch"),
    tierFile(
      TTFT_FILES.server,
      TtftServerRow,
      "one bucket of the server's TTFT histogram around a warm series",
    ),
  ],
  writeup: TTFT_FILES.writeup,
  params: (lab, env) => ttftParams(lab.size, env),
  measure: (run, lab, params) => measureTtft(run, lab, params),
  read: (dir) => readTtftTables(dir),
  facts: (book) => ttftFacts(book),
  keyNumbers: (f) => [
    { label: "cold TTFT p50 (first request after ready)", fact: f.cold_p50, index: "cold TTFT p50" },
    { label: "warm TTFT p50", fact: f.warm_p50, index: "warm TTFT p50" },
    { label: "warm TTFT p95", fact: f.warm_p95 },
    { label: "cold / warm", fact: f.cold_warm, index: "cold / warm" },
    { label: "warm end-to-end latency p50", fact: f.warm_e2e_p50 },
  ],
  indexChart: (data, subtitle) => ttftIndexChart(data.csv.get(TTFT_FILES.requests) ?? [], subtitle),
  beside: (dir, o) => ttftBeside(dir, o),
  comparePoints: TTFT_COMPARE_POINTS,
  compare: ttftCompare,
  compareCurves: ttftCompareCurves,
  questions: (f, all) => ttftQuestions(f, all),
} satisfies Tier<TtftFacts, TtftParams, TtftMeasurement, TtftTables>;
