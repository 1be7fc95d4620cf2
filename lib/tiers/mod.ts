/**
 * lib/tiers: what the tier notebooks share (lab parameters from SERVELAB_* variables, engine config).
 * @module
 */
export * from "./lab_env.ts";
export * from "./ttft/mod.ts";
export * from "./kv/mod.ts";
export * from "./batching/mod.ts";
export * from "./prefix/mod.ts";
