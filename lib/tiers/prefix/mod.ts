/**
 * lib/tiers/prefix: tier 2, prefix caching. The families file (families), the workload and its
 * exact-length, block-aligned prompts (workload), the hit-rate arithmetic (hit_rate), the engines of
 * the A/B (engines), the measurement (measure), the findings (analyze), charts and the write-up.
 * @module
 */
export * from "./params.ts";
export * from "./families.ts";
export * from "./hit_rate.ts";
export * from "./workload.ts";
export * from "./engines.ts";
export * from "./measure.ts";
export * from "./analyze.ts";
export * from "./charts.ts";
export * from "./writeup.ts";
export * from "./facts.ts";
export * from "./compare.ts";
export * from "./files.ts";
