/**
 * lib/scrape: the server's side of a measurement. Prometheus text parsing (prom_text), a version-tolerant
 * view of vLLM's (and llama.cpp's) metric names (vllm_metrics), deltas and histogram math between scrapes
 * (delta, histogram), one scrape with a timeout (scrape) and sampling during a run (sampler); GPU memory
 * from nvidia-smi where present (gpu, gpu_sampler). See shared/DESIGN.md, "Server view beside client view".
 * @module
 */
export * from "./prom_text.ts";
export * from "./histogram.ts";
export * from "./vllm_metrics.ts";
export * from "./families.ts";
export * from "./delta.ts";
export * from "./scrape.ts";
export * from "./sampler.ts";
export * from "./gpu.ts";
export * from "./gpu_sampler.ts";
