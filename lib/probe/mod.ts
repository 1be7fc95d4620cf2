/**
 * lib/probe: one streamed request with raw timestamps (`probe`), load generation (`runLoad`, closed and
 * open loop), the run's clock, and an in-process dial server for tests. See shared/DESIGN.md.
 * @module
 */
export type * from "./types.ts";
export * from "./clock.ts";
export * from "./stream.ts";
export * from "./schedule.ts";
export * from "./load.ts";
export * from "./testing/dial_server.ts";
export * from "./schema.ts";
export * from "./prompts.ts";
export * from "../base/target.ts";
export * from "./self_check.ts";
