/**
 * A run's outcome, per tier and overall, from its point files: a tier whose points all failed is a failed
 * tier, one with some failed points is partial, one whose points all finished is complete. The cause of a
 * failed or partial tier is its first failed point's error (in point-id order), so a page and the terminal
 * can show it instead of leaving it in `points/<tier>/<id>.failed.json`.
 *
 * Overall: failed when any tier failed, partial when any is partial, else complete. The run's exit code
 * follows: 0 complete, 1 failed, 3 partial ({@link exitCodeOf}).
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { readJsonIfExists } from "./atomic.ts";

/** The part of a point's `.failed.json` (points.ts PointFailure) read here; not imported, so that manifest.ts
 * (which stores outcomes) does not import points.ts. */
const PointFailure = z.looseObject({ error: z.string() });

/** One tier's outcome. "not_run": no point file at all (the tier was skipped or not selected). */
export const TierOutcome = z.object({
  status: z.enum(["complete", "partial", "failed", "not_run"]),
  points_done: z.number().int().nonnegative(),
  points_failed: z.number().int().nonnegative(),
  /** The first failed point's id and error, when any failed. */
  failed_point: z.string().optional(),
  cause: z.string().optional(),
});
export type TierOutcome = z.infer<typeof TierOutcome>;

/** The run's overall outcome. */
export type RunOutcome = "complete" | "partial" | "failed";

/**
 * Each tier's outcome from `<runDir>/points/<tier>/`: `tiers` lists the tiers to report (a tier with no
 * folder is "not_run"); without it, every folder under points/.
 *
 * @example
 * ```ts
 * const o = await tierOutcomes(run.dir, ["ttft", "prefix"]);
 * o.ttft.status; // "failed"
 * o.ttft.cause; // "Cannot tokenize through http://127.0.0.1:8000/tokenize: HTTP 404 ..."
 * ```
 */
export async function tierOutcomes(
  runDir: string,
  tiers?: readonly string[],
): Promise<Record<string, TierOutcome>> {
  const pointsDir = join(runDir, "points");
  let keys = tiers ? [...tiers] : [];
  if (!tiers) {
    try {
      for await (const e of Deno.readDir(pointsDir)) if (e.isDirectory) keys.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    keys = keys.sort();
  }
  const out: Record<string, TierOutcome> = {};
  for (const key of keys) out[key] = await tierOutcome(join(pointsDir, key));
  return out;
}

async function tierOutcome(dir: string): Promise<TierOutcome> {
  const done = new Set<string>();
  const failed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".failed.json")) failed.push(e.name.slice(0, -".failed.json".length));
      else if (e.name.endsWith(".json")) done.add(e.name.slice(0, -".json".length));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  // A point retried to success keeps no .failed.json (runPoints removes it), but be safe: done wins.
  const bad = failed.filter((id) => !done.has(id)).sort();
  if (done.size === 0 && bad.length === 0) return { status: "not_run", points_done: 0, points_failed: 0 };
  let cause: string | undefined;
  if (bad.length) {
    const raw = await readJsonIfExists(join(dir, `${bad[0]}.failed.json`));
    const f = PointFailure.safeParse(raw);
    cause = f.success && f.data.error.trim() ? f.data.error.trim() : "the point failed without a message";
  }
  return {
    status: bad.length === 0 ? "complete" : done.size === 0 ? "failed" : "partial",
    points_done: done.size,
    points_failed: bad.length,
    ...(bad.length ? { failed_point: bad[0], cause } : {}),
  };
}

/**
 * The run's outcome from its tiers' outcomes (not_run tiers do not count).
 *
 * @example
 * ```ts
 * overallOutcome({ ttft: { status: "failed", ... }, kv: { status: "complete", ... } }); // "failed"
 * ```
 */
export function overallOutcome(tiers: Readonly<Record<string, TierOutcome>>): RunOutcome {
  const s = Object.values(tiers).map((t) => t.status);
  return s.includes("failed") ? "failed" : s.includes("partial") ? "partial" : "complete";
}

/** The exit code of a run with this outcome: 0 complete, 1 failed, 3 partial. */
export function exitCodeOf(outcome: RunOutcome): number {
  return outcome === "complete" ? 0 : outcome === "failed" ? 1 : 3;
}

/**
 * One line per tier that did not complete, for the terminal and pages: "ttft: failed (3 of 3 points
 * failed); first failure attach-0: <error>".
 *
 * @example
 * ```ts
 * outcomeLines(await tierOutcomes(dir)).forEach((l) => console.error(l));
 * ```
 */
export function outcomeLines(tiers: Readonly<Record<string, TierOutcome>>): string[] {
  return Object.entries(tiers)
    .filter(([, t]) => t.status === "failed" || t.status === "partial")
    .map(([key, t]) =>
      `${key}: ${t.status} (${t.points_failed} of ${t.points_done + t.points_failed} points failed); ` +
      `first failure ${t.failed_point}: ${oneLine(t.cause ?? "no message")}`
    );
}

function oneLine(s: string, max = 400): string {
  const t = s.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
