/**
 * lib/probe: one streamed request with raw timestamps (`probe`), load generation (`runLoad`, closed and
 * open loop) and the run's clock. The dial server, a test seam, is lib/probe/testing/mod.ts. See
 * shared/DESIGN.md.
 * @module
 */
export type * from "./types.ts";
export * from "./clock.ts";
export * from "./stream.ts";
export * from "./schedule.ts";
export * from "./load.ts";
export * from "./schema.ts";
export * from "./prompts.ts";
export * from "./capabilities.ts";
export * from "../base/target.ts";
export * from "./self_check.ts";
export { type ScanSink, SseScanner } from "./sse_scan.ts";
