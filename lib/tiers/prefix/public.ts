/**
 * Tier 2, prefix caching, as the notebooks see it: `prefix.params`, `prefix.measure`, the results read back
 * (`prefix.readResults`), the findings (`prefix.findings`, advice, observations), the charts and the
 * write-up. lib/mod.ts exports it as the namespace `prefix`; the full module (tests, other lib code) is
 * ./mod.ts.
 * @module
 */
export { prefixTier as tier } from "./tier.ts";
export { PREFIX_PRESETS as PRESETS, type PrefixParams as Params, prefixParams as params } from "./params.ts";
export { loadPrefixFamilies as loadFamilies, type PrefixFamily as Family } from "./families.ts";
export { measurePrefix as measure, type PrefixMeasurement as Measurement } from "./measure.ts";
export { PREFIX_FILES as FILES } from "./files.ts";
export {
  type PrefixFindings as Findings,
  prefixFindings as findings,
  prefixNoHelpRows as noHelpRows,
  type PrefixRequestRow as RequestRow,
  type PrefixRunRow as RunRow,
  readPrefixResults as readResults,
} from "./analyze.ts";
export {
  prefixAdvice as advice,
  prefixObservations as observations,
  prefixTitle as title,
  writePrefixWriteup as writeWriteup,
} from "./writeup.ts";
export {
  prefixAgreementChart as agreementChart,
  prefixCliffChart as cliffChart,
  prefixKvChart as kvChart,
  prefixShareChart as shareChart,
  prefixThroughputChart as throughputChart,
  prefixTtftChart as ttftChart,
} from "./charts.ts";
export {
  prefixBlocksChart as blocksChart,
  type PrefixGuess as Guess,
  prefixKeyRows as keyRows,
  prefixPredictions as predictions,
} from "./lesson.ts";
