/**
 * Run comparison: the same metrics of two runs side by side, with a noise verdict per row.
 * @module
 */
export {
  type CompareResult,
  type CompareRow,
  compareRuns,
  noiseVerdict,
  workloadMismatches,
} from "./compare.ts";
export { checkPoints, type PointCheck, type PointSpec } from "./points.ts";
export {
  compareNotebook,
  type ComparePage,
  comparePage,
  comparePagePath,
  type CurveDifference,
  differingFields,
  manifestFields,
  writeComparePage,
} from "./page.ts";
