/**
 * The write-up's "Run outcome" section (issue 20): each tier's outcome from its point files (lib/run/outcome.ts)
 * and, for a tier that failed or partly failed, its first failed point's error, on the page rather than only in
 * `points/<tier>/<id>.failed.json`. The cause is shown as code (server text, exempt from the page's rule that
 * every number is a fact span); the words around it carry no number.
 * @module
 */
import { type TierOutcome, tierOutcomes } from "../run/outcome.ts";
import { codeText, h, type Html, htmlTable } from "../report/html.ts";
import type { AnyTier } from "../tiers/tier.ts";

function outcomeCell(o: TierOutcome): Html {
  switch (o.status) {
    case "complete":
      return h`complete: every point finished`;
    case "not_run":
      return h`no points: not run, or its notebook stopped before measuring`;
    case "failed":
      return h`failed: every point failed; first failure (${codeText(o.failed_point ?? "?")}): ${
        codeText(o.cause ?? "no message")
      }`;
    case "partial":
      return h`partial: some points failed; first failure (${codeText(o.failed_point ?? "?")}): ${
        codeText(o.cause ?? "no message")
      }`;
  }
}

/**
 * The section, from the run folder's points.
 *
 * @example
 * ```ts
 * const html = await outcomeSection(run.dir, TIERS);
 * ```
 */
export async function outcomeSection(dir: string, tiers: readonly AnyTier[]): Promise<Html> {
  const o = await tierOutcomes(dir, tiers.map((t) => t.key));
  const bad = tiers.filter((t) => o[t.key].status === "failed" || o[t.key].status === "partial");
  return h`<h3 id="wu-outcome">Run outcome</h3><p>${
    bad.length
      ? "Some tiers did not measure everything; the first failure of each is below, and the run exits non-zero."
      : "No tier had a failed point."
  }</p>${htmlTable(["tier", "outcome"], tiers.map((t) => [t.title, outcomeCell(o[t.key])]))}`;
}
