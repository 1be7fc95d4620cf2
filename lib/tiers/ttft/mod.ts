/**
 * Tier 1, time to first token: parameters (`ttftParams`), the measurement (`measureTtft`: fresh launches for
 * cold requests, warm series, prompt-length sweep, re-warm after idle, server histogram), the findings
 * (`ttftSummary`), the charts (charts.ts: `ttftStartupChart`, `ttftWarmupChart`, ...) and the write-up
 * (`writeTtftReport`, `first_token_latency.md`). Used by notebooks/01_ttft.ipynb.
 * @module
 */
export { TTFT_ENV_VARS, TTFT_PRESETS, TtftParams, ttftParams } from "./params.ts";
export {
  readTtftTables,
  TTFT_CSV_COLUMNS,
  TTFT_FILES,
  TTFT_POINT_COLUMNS,
  TTFT_SERVER_COLUMNS,
  TTFT_STARTUP_COLUMNS,
  TTFT_TIER_COLUMNS,
  TtftRequestRow,
  TtftSeries,
  TtftServerRow,
  TtftStartupClock,
  TtftStartupRow,
  type TtftTables,
} from "./tables.ts";
export { measureTtft, type MeasureTtftOptions, TTFT_TIER, type TtftMeasurement } from "./measure.ts";
export {
  TTFT_VARIANTS,
  type TtftClientSummary,
  ttftClientSummary,
  type TtftCurvePoint,
  type TtftIdleSummary,
  ttftIdleSummary,
  type TtftInvalidPoint,
  type TtftLengthPoint,
  type TtftLengthSummary,
  ttftLengthSummary,
  type TtftPhaseSummary,
  type TtftSeriesCount,
  ttftSeriesCounts,
  ttftServerHistogram,
  type TtftServerSummary,
  ttftServerSummary,
  type TtftSpread,
  type TtftStartupSummary,
  ttftStartupSummary,
  type TtftSummary,
  ttftSummary,
  type TtftVariant,
  type TtftVariantSummary,
  ttftVariantSummary,
  ttftWarmupCurve,
} from "./analyze.ts";
export {
  ttftIdleChart,
  ttftLengthChart,
  ttftServerChart,
  ttftStartupChart,
  ttftWarmupChart,
} from "./charts.ts";
export {
  TTFT_VARIANT_PEERS,
  ttftCommands,
  type TtftKeyNumber,
  ttftKeyNumbers,
  ttftObservations,
  type TtftReport,
  type TtftVariantRow,
  ttftVariantRows,
  ttftWriteup,
  type TtftWriteupContext,
  writeTtftReport,
} from "./writeup.ts";
export * from "./facts.ts";
export * from "./compare.ts";
