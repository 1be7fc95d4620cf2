/**
 * Tier 2, prefix caching, as one unit: its files, parameters, measurement, reader, facts, key numbers,
 * and compare points (the contract: lib/tiers/tier.ts).
 * @module
 */
import { prefixQuestions } from "./questions.ts";
import { type Tier, tierFile } from "../tier.ts";
import { type PrefixFacts, prefixFacts } from "./facts.ts";
import { PREFIX_FILES } from "./files.ts";
import { measurePrefix, type PrefixMeasurement } from "./measure.ts";
import { type PrefixParams, prefixParams } from "./params.ts";
import { PrefixRequestRow, PrefixRunRow, readPrefixResults } from "./analyze.ts";
import { PREFIX_COMPARE_POINTS, prefixCompare, prefixCompareCurves } from "./compare.ts";
import { prefixIndexChartOptions } from "./charts.ts";
import { plot } from "../../report/plot.ts";
import { prefixBeside } from "./beside.ts";

/** Tier 2. */
export const prefixTier = {
  key: "prefix" as const,
  number: "2",
  title: "Prefix caching",
  notebook: "02_prefix_caching",
  files: [
    tierFile(
      PREFIX_FILES.requests,
      PrefixRequestRow,
      "one request of one arm (caching off or on) of one point",
    ),
    tierFile(
      PREFIX_FILES.runs,
      PrefixRunRow,
      "one arm of one point and repeat: hit rates two ways, TTFT, tok/s",
    ),
  ],
  writeup: PREFIX_FILES.writeup,
  params: (lab, env) => prefixParams(lab, env),
  measure: (run, lab, params) => measurePrefix(run, lab, params),
  read: (dir) => readPrefixResults(dir),
  facts: (book) => prefixFacts(book),
  keyNumbers: (f) => [
    { label: "longest shared prefix", fact: f.long_tokens },
    { label: "TTFT p50 there, caching off", fact: f.long?.off },
    { label: "TTFT p50 there, caching on", fact: f.long?.on },
    {
      label: "prefix caching speedup there",
      fact: f.long?.speedup,
      index: "prefix caching speedup, longest shared prefix",
    },
    { label: "output tok/s there, caching off", fact: f.long_tok_s_off },
    {
      label: "output tok/s there, caching on",
      fact: f.long_tok_s_on,
      index: "output tok/s with prefix caching",
    },
    { label: "peak KV usage there, caching off", fact: f.long_kv_off },
    { label: "peak KV usage there, caching on", fact: f.long_kv_on },
    { label: "runs whose client self-check failed", fact: f.runs_client_bad },
  ],
  indexChart: (data, subtitle) => {
    const o = prefixIndexChartOptions(data.csv.get(PREFIX_FILES.requests) ?? [], subtitle);
    return o ? plot(o) : undefined;
  },
  comparePoints: PREFIX_COMPARE_POINTS,
  compare: prefixCompare,
  compareCurves: prefixCompareCurves,
  beside: (dir, o) => prefixBeside(dir, o),
  questions: (f, all) => prefixQuestions(f, all),
} satisfies Tier<PrefixFacts, PrefixParams, PrefixMeasurement, Awaited<ReturnType<typeof readPrefixResults>>>;
