/**
 * lib/tiers/kv: Tier 3a, KV cache scaling against max-model-len (notebooks/03_kv_scaling.ipynb). Parameters
 * (params), the rows of its CSVs (rows), the model config behind the computed bytes per token
 * (model_config), the device and planner context (context), the sweep and fit probe (measure), the load
 * confirmation (load), the findings (analyze), the capacity question (capacity), the charts (charts) and
 * the notes (writeup).
 * @module
 */
export * from "./params.ts";
export * from "./rows.ts";
export * from "./model_config.ts";
export * from "./context.ts";
export * from "./analyze.ts";
export * from "./capacity.ts";
export * from "./load.ts";
export * from "./measure.ts";
export * from "./findings.ts";
export * from "./charts.ts";
export * from "./writeup.ts";
export * from "./facts.ts";
export * from "./compare.ts";
