/**
 * lib/scrape: the server's side of a measurement: Prometheus text parsing, a version-tolerant view of vLLM's
 * (and llama.cpp's) metric names, deltas and histogram math between scrapes.
 * See shared/DESIGN.md, "Server view beside client view".
 * @module
 */
export * from "./prom_text.ts";
export * from "./histogram.ts";
export * from "./vllm_metrics.ts";
export * from "./delta.ts";
