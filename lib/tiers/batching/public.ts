/**
 * Tier 3b, batching under concurrency, as the notebooks see it: `batching.params`, `batching.measure`, the
 * results read back (`batching.readResults`), the rules (`batching.knee`, `batching.sweetSpot`), the findings,
 * the charts and the write-up. lib/mod.ts exports it as the namespace `batching`; the full module (tests,
 * other lib code) is ./mod.ts.
 * @module
 */
export { batchingTier as tier } from "./tier.ts";
export {
  BATCHING_PRESETS as PRESETS,
  batchingEnvVar as envVar,
  type BatchingParams as Params,
  batchingParams as params,
} from "./params.ts";
export {
  BATCHING_FILES as FILES,
  type BatchingMeasurement as Measurement,
  measureBatching as measure,
} from "./measure.ts";
export { type BatchingResults as Results, readBatchingResults as readResults } from "./results.ts";
export { type BatchingPointRow as PointRow } from "./point_row.ts";
export {
  batchingKnee as knee,
  type BatchingKneeResult as KneeResult,
  type BatchingSloPoint as SloPoint,
  batchingSweetSpot as sweetSpot,
  type BatchingSweetSpotResult as SweetSpotResult,
} from "./knee.ts";
export { type BatchingFindings as Findings, batchingFindings as findings } from "./analyze.ts";
export {
  batchingEngineShort as engineShort,
  batchingObservations as observations,
  batchingProductOwnerText as productOwnerText,
  writeBatchingReport as writeReport,
} from "./writeup.ts";
export {
  batchingLatencyChart as latencyChart,
  batchingLittleChart as littleChart,
  batchingRateThroughputChart as rateThroughputChart,
  batchingServerCharts as serverCharts,
  batchingThroughputChart as throughputChart,
  batchingTradeoffChart as tradeoffChart,
} from "./charts.ts";
export {
  type BatchingGuess as Guess,
  batchingKeyRows as keyRows,
  batchingPredictions as predictions,
  batchingTimeline as timeline,
} from "./lesson.ts";
