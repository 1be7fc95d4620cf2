/**
 * The embedded engine's prediction beside a kept real-engine run: every tier that can be replayed
 * (the Tier contract's `beside`: today Tier 1's cold, warm and length series and Tier 3b's concurrency
 * points) replays its points in virtual time, and `keptRuns` turns a run's points into held-out validation
 * rows. The page is lib/sim's `besideMarkdown`.
 * @module
 */
import { existsSync } from "node:fs";
import type { BesideOptions, BesideRow, ValidationRow } from "../sim/mod.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier } from "../tiers/tier.ts";

/**
 * Every replayable tier of a kept run beside the prediction; throws when no tier has points to replay.
 *
 * @example
 * ```ts
 * const rows = besideRun("docs/examples/vllm-cpu-tiny", { profile: "cpu-calibrated", model: "servelab/tiny-llama" });
 * rows.find((r) => r.point === "warm" && r.metric === "ttft_ms")?.error; // e.g. -0.2
 * ```
 */
export function besideRun(dir: string, o: BesideOptions, tiers: readonly AnyTier[] = TIERS): BesideRow[] {
  const replayable = tiers.filter((t) => t.beside);
  const out: BesideRow[] = [];
  for (const t of replayable) {
    if (existsSync(`${dir}/${t.files[0].name}`)) out.push(...t.beside!(dir, o));
  }
  if (out.length === 0) {
    throw new Error(
      `${dir} has no points to replay: the tiers that can be replayed (${
        replayable.map((t) => `${t.key}: ${t.files[0].name}`).join("; ")
      }) left no rows there. Give the folder of a kept run.`,
    );
  }
  return out;
}

/**
 * A kept run's points as held-out validation rows (every tier with `keptRows`).
 *
 * @example
 * ```ts
 * keptRunRows(dir, "20261201-x", "cpu-calibrated", "servelab/tiny-llama").length;
 * ```
 */
export function keptRunRows(
  dir: string,
  runId: string,
  profile: string,
  model: string,
  tiers: readonly AnyTier[] = TIERS,
): ValidationRow[] {
  return tiers.filter((t) => t.keptRows && existsSync(`${dir}/${t.files[0].name}`)).flatMap((t) =>
    t.keptRows!(dir, runId, profile, model)
  );
}
