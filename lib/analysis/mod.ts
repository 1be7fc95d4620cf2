/**
 * lib/analysis: pure derivations from request records (TTFT variants, ITL, TPOT, E2E, queue delay),
 * the per-request CSV row, statistics (percentiles, summaries, bootstrap CIs) and long-format summaries.
 * See shared/DESIGN.md.
 * @module
 */
export * from "../base/random.ts";
// The names lib/analysis has always exported; lib/base/stats.ts also has mean, median and quantile.
export {
  bootstrapCi,
  type BootstrapOptions,
  percentile,
  type PercentileCi,
  percentileSorted,
  summarize,
  type Summary,
  SUMMARY_STATS,
} from "../base/stats.ts";
export * from "./request_metrics.ts";
export * from "./request_row.ts";
export * from "./summary.ts";
