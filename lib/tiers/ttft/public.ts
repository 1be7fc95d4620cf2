/**
 * Tier 1, time to first token, as the notebooks see it: `ttft.params`, `ttft.measure`, `ttft.writeReport`
 * and what shows its results (key numbers, variants, observations, charts). lib/mod.ts exports it as the
 * namespace `ttft`; the full module (tests, other lib code) is ./mod.ts.
 * @module
 */
export { ttftTier as tier } from "./tier.ts";
export { TTFT_PRESETS as PRESETS, type TtftParams as Params, ttftParams as params } from "./params.ts";
export { measureTtft as measure, type TtftMeasurement as Measurement } from "./measure.ts";
export { readTtftTables as readTables, TTFT_FILES as FILES, type TtftTables as Tables } from "./tables.ts";
export { type TtftSummary as Summary, ttftSummary as summary } from "./analyze.ts";
export {
  type TtftKeyNumber as KeyNumber,
  ttftKeyNumbers as keyNumbers,
  ttftObservations as observations,
  type TtftReport as Report,
  type TtftVariantRow as VariantRow,
  ttftVariantRows as variantRows,
  writeTtftReport as writeReport,
} from "./writeup.ts";
export {
  ttftIdleChart as idleChart,
  ttftLengthChart as lengthChart,
  ttftServerChart as serverChart,
  ttftStartupChart as startupChart,
  ttftWarmupChart as warmupChart,
} from "./charts.ts";
export { type TtftGuess as Guess, ttftKeyRows as keyRows, ttftPredictions as predictions } from "./lesson.ts";
