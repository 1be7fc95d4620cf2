/**
 * Tier 3a, KV cache scaling, as the notebooks see it: `kv.params`, `kv.measure`, the findings (`kv.findings`
 * and one sentence per question), the capacity question (`kv.capacityAnswers`, `kv.capacityRows`), the
 * charts and the notes (`kv.writeNotes`). lib/mod.ts exports it as the namespace `kv`; the full module
 * (tests, other lib code) is ./mod.ts.
 * @module
 */
export { kvTier as tier } from "./tier.ts";
export { KV_PRESETS as PRESETS, type KvParams as Params, kvParams as params } from "./params.ts";
export { type KvMeasurement as Measurement, measureKv as measure } from "./measure.ts";
export { type KvLoadRow as LoadRow, KvLoadSample as LoadSample, type KvRow as Row } from "./rows.ts";
export {
  kvBytesFinding as bytesFinding,
  kvCapacityFinding as capacityFinding,
  type KvFindings as Findings,
  kvFindings as findings,
  kvFitFinding as fitFinding,
  kvLoadFinding as loadFinding,
  kvSweepFinding as sweepFinding,
} from "./findings.ts";
export {
  type KvCapacityAnswer as CapacityAnswer,
  kvCapacityAnswers as capacityAnswers,
  kvCapacityQuestion as capacityQuestion,
  kvCapacityRows as capacityRows,
  type KvPool as Pool,
  type KvQuestion as Question,
} from "./capacity.ts";
export {
  kvConcurrencyChart as concurrencyChart,
  kvLoadChart as loadChart,
  kvMemoryChart as memoryChart,
} from "./charts.ts";
export { kvTitle as title, writeKvNotes as writeNotes } from "./writeup.ts";
export {
  type KvGuess as Guess,
  kvKeyRows as keyRows,
  kvPoolChart as poolChart,
  kvPredictions as predictions,
} from "./lesson.ts";
