/**
 * The run's live progress, as a file: `runPoints` rewrites `<run>/progress.json` (atomically) when a point
 * starts and when its sweep ends, so a process outside the notebook's kernel (`./servelab run`, through
 * tools/run_notebooks.py) can show the current tier, point i of n, its parameters, the time spent and an
 * estimate of the rest (docs/adr/0018-live-progress.md says why a file).
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { writeJsonAtomic } from "./atomic.ts";

/** The progress file's name in a run folder. */
export const PROGRESS_FILE = "progress.json";

/** What `progress.json` holds: one sweep of points (a `runPoints` call) and where it is. */
export const ProgressState = z.object({
  schema: z.literal("servelab.progress/1"),
  /** The tier key (`runPoints`'s tier), e.g. "ttft" or "kv_load". */
  tier: z.string(),
  /** 1-based number of the point being run (or the last one, when `state` is done). */
  i: z.number().int().nonnegative(),
  /** Points in this sweep. */
  n: z.number().int().nonnegative(),
  /** The point's id. */
  point: z.string(),
  /** The point's parameters in short `key=value` words. */
  params: z.string(),
  /** When the sweep started (wall clock, ISO). */
  started_at: z.string(),
  /** Seconds since the sweep started, when this state was written. */
  elapsed_s: z.number().nonnegative(),
  /** Estimated seconds left in this sweep (mean time of the points run so far x points left), when known. */
  eta_s: z.number().nonnegative().optional(),
  /** Points finished, skipped (already done) and failed so far. */
  finished: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  state: z.enum(["running", "done"]),
  /** When this state was written (wall clock, ISO). */
  updated_at: z.string(),
});
export type ProgressState = z.infer<typeof ProgressState>;

/**
 * A point's parameters as short words: its scalar fields other than `id`, `key=value`, at most `max` chars.
 *
 * @example
 * ```ts
 * pointParams({ id: "c4", concurrency: 4, prompt_tokens: 512 }); // "concurrency=4 prompt_tokens=512"
 * ```
 */
export function pointParams(point: Record<string, unknown>, max = 80): string {
  const words = Object.entries(point)
    .filter(([k, v]) => k !== "id" && ["string", "number", "boolean"].includes(typeof v))
    .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v}`);
  let out = "";
  for (const w of words) {
    const next = out ? `${out} ${w}` : w;
    if (next.length > max) return `${out} …`.trim();
    out = next;
  }
  return out;
}

/** Seconds as "42 s", "3 min 05 s" or "1 h 02 min". */
export function durationText(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * The progress in one line of plain text (no escape codes).
 *
 * @example
 * ```ts
 * progressLine(state); // "kv: point 3/6 max_model_len=4096 · 12 s elapsed, ~25 s left"
 * ```
 */
export function progressLine(p: ProgressState): string {
  if (p.state === "done") {
    const parts = [`${p.finished} run`, `${p.skipped} already done`, `${p.failed} failed`];
    return `${p.tier}: ${p.n}/${p.n} points done (${parts.join(", ")}) in ${durationText(p.elapsed_s)}`;
  }
  const what = [`point ${p.i}/${p.n}`, p.params || p.point].join(" ");
  const failed = p.failed ? `, ${p.failed} failed` : "";
  const left = p.eta_s !== undefined ? `, ~${durationText(p.eta_s)} left` : "";
  return `${p.tier}: ${what} · ${durationText(p.elapsed_s)} elapsed${left}${failed}`;
}

/**
 * Writes the run's progress file atomically. Progress is a courtesy: a write that fails is ignored
 * (the measurement goes on).
 */
export async function writeProgress(runDir: string, p: ProgressState): Promise<void> {
  try {
    await writeJsonAtomic(join(runDir, PROGRESS_FILE), p);
  } catch { /* progress must never fail a measurement */ }
}

/**
 * Reads the run's progress file; undefined when there is none yet or it does not parse (it is replaced
 * atomically, so a half-written file is never seen).
 *
 * @example
 * ```ts
 * const p = await readProgress(run.dir);
 * if (p) console.log(progressLine(p));
 * ```
 */
export async function readProgress(runDir: string): Promise<ProgressState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(runDir, PROGRESS_FILE));
  } catch {
    return undefined;
  }
  try {
    const r = ProgressState.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Tracks one sweep's state for {@link writeProgress}: call `start(i, point)` before a point and `end()`. */
export interface SweepProgress {
  start(i: number, point: Record<string, unknown> & { id: string }): ProgressState;
  /** Records that the point just started finished (`ran`: measured now, not skipped; `failed`). */
  finish(outcome: "ran" | "skipped" | "failed", seconds: number): void;
  end(): ProgressState;
}

/**
 * The state of one sweep of `n` points of `tier`; the estimate of the rest is the mean time of the points
 * measured in this sweep times the points left (skipped points take no time and are not counted).
 *
 * @example
 * ```ts
 * const sp = sweepProgress("ttft", points.length);
 * await writeProgress(run.dir, sp.start(1, points[0]));
 * ```
 */
export function sweepProgress(
  tier: string,
  n: number,
  now: () => number = () => performance.now(),
): SweepProgress {
  const t0 = now();
  const started_at = new Date().toISOString();
  let finished = 0, skipped = 0, failed = 0, measured_s = 0, measured = 0;
  let last: { i: number; id: string; params: string } = { i: 0, id: "", params: "" };
  const state = (s: "running" | "done"): ProgressState => {
    const elapsed_s = (now() - t0) / 1000;
    const left = n - (finished + skipped + failed);
    const eta_s = s === "running" && measured > 0 ? (measured_s / measured) * left : undefined;
    return {
      schema: "servelab.progress/1",
      tier,
      i: last.i,
      n,
      point: last.id,
      params: last.params,
      started_at,
      elapsed_s: Number(elapsed_s.toFixed(1)),
      ...(eta_s !== undefined ? { eta_s: Number(eta_s.toFixed(1)) } : {}),
      finished,
      skipped,
      failed,
      state: s,
      updated_at: new Date().toISOString(),
    };
  };
  return {
    start(i, point) {
      last = { i, id: point.id, params: pointParams(point) };
      return state("running");
    },
    finish(outcome, seconds) {
      if (outcome === "skipped") skipped++;
      else {
        if (outcome === "ran") finished++;
        else failed++;
        measured++;
        measured_s += seconds;
      }
    },
    end: () => state("done"),
  };
}
