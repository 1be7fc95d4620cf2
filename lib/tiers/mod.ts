/**
 * lib/tiers: the tiers, each one unit in its folder (the contract: tier.ts), in the day's order, and what
 * they share (lab parameters from SERVELAB_* variables, engine config).
 * @module
 */
import { ttftTier } from "./ttft/tier.ts";
import { prefixTier } from "./prefix/tier.ts";
import { kvTier } from "./kv/tier.ts";
import { batchingTier } from "./batching/tier.ts";

/** The tiers in the day's order: 1 TTFT, 2 prefix caching, 3a KV scaling, 3b batching. */
export const TIERS = [ttftTier, prefixTier, kvTier, batchingTier] as const;

/** A built-in tier's key: the one name of a tier in files, `--tiers`, pages and facts. */
export type TierKey = typeof TIERS[number]["key"];

export { ttftTier } from "./ttft/tier.ts";
export { prefixTier } from "./prefix/tier.ts";
export { kvTier } from "./kv/tier.ts";
export { batchingTier } from "./batching/tier.ts";
export * from "./tier.ts";
export * from "./lab_env.ts";
export * from "./ttft/mod.ts";
export * from "./kv/mod.ts";
export * from "./batching/mod.ts";
export * from "./prefix/mod.ts";
