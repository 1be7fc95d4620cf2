/**
 * The run's outcome at the end of `./servelab run` (issue 20): each selected tier's outcome from its point
 * files (lib/run/outcome.ts) goes into the manifest under `tiers`, and the terminal gets one line per tier
 * that failed or partly failed, with the first failed point's error, so no failure stays only in a file.
 * @module
 */
import { basename } from "node:path";
import { TIERS } from "../../lib/mod.ts";
import {
  outcomeLines,
  overallOutcome,
  type Run,
  type RunOutcome,
  type TierOutcome,
  tierOutcomes,
  updateManifest,
} from "../../lib/run/mod.ts";

/** The tier keys of the notebooks that ran. */
export function tiersOfNotebooks(notebooks: readonly string[]): string[] {
  const names = new Set(notebooks.map((nb) => basename(nb).replace(/\.ipynb$/, "")));
  return TIERS.filter((t) => names.has(t.notebook)).map((t) => t.key);
}

/**
 * Reads the outcomes of the tiers whose notebooks ran and records them in the manifest.
 *
 * @example
 * ```ts
 * const o = await recordOutcomes(run, notebooks);
 * for (const l of o.lines) console.error(l);
 * ```
 */
export async function recordOutcomes(
  run: Run,
  notebooks: readonly string[],
): Promise<{ overall: RunOutcome; tiers: Record<string, TierOutcome>; lines: string[] }> {
  const tiers = await tierOutcomes(run.dir, tiersOfNotebooks(notebooks));
  await updateManifest(run.manifestPath, (m) => ({ ...m, tiers }));
  return { overall: overallOutcome(tiers), tiers, lines: outcomeLines(tiers) };
}
