/**
 * The files Tier 2 writes in the run folder.
 * @module
 */

/** The tier's files: per-request rows, per-run rows (one per arm, point and repeat), the write-up. */
export const PREFIX_FILES = {
  requests: "prefix_cache.csv",
  runs: "prefix_cache_runs.csv",
  writeup: "prefix_caching_results.md",
} as const;
