/**
 * lib/tiers/batching: Tier 3b, batching under concurrency. The parameters (params), the workload
 * (workload), the per point-and-repeat row (point_row), the measurement (measure), reading the CSVs back
 * (results), the rules (knee: knee, sweet spot, rate at the SLO), the findings (analyze), the charts
 * (charts) and batching_benchmark.md (writeup). notebooks/04_batching.ipynb is the lesson around them.
 * @module
 */
export * from "./params.ts";
export * from "./workload.ts";
export * from "./point_row.ts";
export * from "./measure.ts";
export * from "./results.ts";
export * from "./knee.ts";
export * from "./analyze.ts";
export * from "./charts.ts";
export * from "./writeup.ts";
export * from "./facts.ts";
export * from "./compare.ts";
export * from "./health.ts";
