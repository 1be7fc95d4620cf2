/**
 * Per-point results, so sweeps are resumable through the file system. Each finished point writes
 * `points/<tier>/<id>.csv` (its rows) and then `<id>.json` (the completion marker, with optional summary
 * data), both atomically. A failed point writes `<id>.failed.json` and the sweep goes on. A rerun skips
 * points whose `.json` exists unless forced; `collectPoints` concatenates the point CSVs into the
 * tier's CSV.
 * @module
 */
import { parse } from "csv-parse/sync";
import { join } from "node:path";
import { z } from "zod";
import { progress as startProgress } from "./progress.ts";
import { durationText, sweepProgress, writeProgress } from "./progress_file.ts";
import { readJsonIfExists, writeJsonAtomic, writeTextAtomic } from "./atomic.ts";
import { type CsvRow, toCsv } from "./csv.ts";
import type { Run } from "./run_dir.ts";

/** Environment variable that makes `runPoints` redo finished points (`./servelab run --force`). */
export const FORCE_ENV = "SERVELAB_FORCE";

/** What a point's function returns: rows for the tier's CSV and/or summary data. */
export interface PointResult {
  rows?: readonly CsvRow[];
  /** Column order for the rows. Default: keys of the rows in first-seen order. */
  columns?: readonly string[];
  /** Anything JSON-serialisable kept in the point's .json (a summary, a startup report...). */
  data?: unknown;
}

/** The `.json` completion marker of a point. */
export const PointRecord = z.object({
  tier: z.string(),
  id: z.string(),
  finished_at: z.string(),
  duration_s: z.number(),
  rows: z.number().int(),
  data: z.unknown().optional(),
});
export type PointRecord = z.infer<typeof PointRecord>;

/** The `.failed.json` of a point. */
export const PointFailure = z.object({
  tier: z.string(),
  id: z.string(),
  failed_at: z.string(),
  error: z.string(),
  stack: z.string().optional(),
});
export type PointFailure = z.infer<typeof PointFailure>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._=+-]*$/;

function checkName(what: string, name: string): void {
  if (!NAME.test(name) || name.endsWith(".failed")) {
    throw new Error(
      `Invalid ${what} '${name}': use letters, digits and . _ = + - (starting with a letter or digit), e.g. "c4" or "len=1024".`,
    );
  }
}

/**
 * The files of one point.
 *
 * @example
 * ```ts
 * pointPaths(run, "ttft", "c1").json; // ".../points/ttft/c1.json"
 * ```
 */
export function pointPaths(
  run: Run,
  tier: string,
  id: string,
): { csv: string; json: string; failed: string } {
  checkName("tier", tier);
  checkName("point id", id);
  const dir = join(run.pointsDir, tier);
  return {
    csv: join(dir, `${id}.csv`),
    json: join(dir, `${id}.json`),
    failed: join(dir, `${id}.failed.json`),
  };
}

/**
 * The point's completion record, or undefined when it has not finished.
 *
 * @example
 * ```ts
 * (await readPoint(run, "ttft", "c1"))?.data;
 * ```
 */
export async function readPoint(run: Run, tier: string, id: string): Promise<PointRecord | undefined> {
  const p = pointPaths(run, tier, id).json;
  const raw = await readJsonIfExists(p);
  if (raw === undefined) return undefined;
  const r = PointRecord.safeParse(raw);
  if (!r.success) {
    throw new Error(`Invalid point record ${p}: ${r.error.issues[0].message}. Delete it to redo the point.`);
  }
  return r.data;
}

/**
 * True when the point finished (its `.json` exists).
 *
 * @example
 * ```ts
 * if (!(await pointDone(run, "ttft", "c1"))) await measure();
 * ```
 */
export async function pointDone(run: Run, tier: string, id: string): Promise<boolean> {
  return (await readPoint(run, tier, id)) !== undefined;
}

/**
 * Writes a finished point: the CSV (when there are rows), then the `.json` marker; clears an old failure.
 *
 * @example
 * ```ts
 * await writePoint(run, "ttft", "c1", { rows: records, data: { p50_ms: 41 } }, 2.5);
 * ```
 */
export async function writePoint(
  run: Run,
  tier: string,
  id: string,
  result: PointResult,
  duration_s = 0,
): Promise<PointRecord> {
  const paths = pointPaths(run, tier, id);
  const rows = result.rows ?? [];
  if (rows.length || result.columns) {
    const columns = result.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
    await writeTextAtomic(paths.csv, toCsv(rows, columns, { source: `point ${tier}/${id}` }));
  }
  const record: PointRecord = {
    tier,
    id,
    finished_at: new Date().toISOString(),
    duration_s,
    rows: rows.length,
    data: result.data,
  };
  await writeJsonAtomic(paths.json, record);
  await Deno.remove(paths.failed).catch(() => {});
  return record;
}

/** Options for {@link runPoints}. */
export interface RunPointsOptions {
  /** Redo finished points. Default: true when SERVELAB_FORCE=1. */
  force?: boolean;
  /** Show progress (notebook display or terminal line). Default true. */
  progress?: boolean;
}

/** What {@link runPoints} did. */
export interface RunPointsSummary {
  tier: string;
  /** Points run and written now. */
  done: string[];
  /** Points already finished, not rerun. */
  skipped: string[];
  failed: { id: string; error: string }[];
}

function forceFromEnv(): boolean {
  try {
    return Deno.env.get(FORCE_ENV) === "1";
  } catch {
    return false;
  }
}

/**
 * Runs `fn` for each point in order, writing each result as it finishes. Finished points are skipped
 * unless forced; a point that throws writes `<id>.failed.json` and the sweep goes on.
 *
 * @example
 * ```ts
 * const points = [1, 4, 16].map((n) => ({ id: `c${n}`, concurrency: n }));
 * const s = await runPoints(run, "batching", points, async (p) => ({ rows: await sweep(p.concurrency) }));
 * if (s.failed.length) await show(md`${s.failed.length} points failed`);
 * ```
 */
export async function runPoints<P extends { id: string }>(
  run: Run,
  tier: string,
  points: readonly P[],
  fn: (point: P) => Promise<PointResult>,
  options: RunPointsOptions = {},
): Promise<RunPointsSummary> {
  const force = options.force ?? forceFromEnv();
  const ids = points.map((p) => p.id);
  ids.forEach((id) => pointPaths(run, tier, id));
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`Point id '${dup}' appears twice in tier '${tier}'; point ids must be unique.`);
  const summary: RunPointsSummary = { tier, done: [], skipped: [], failed: [] };
  const bar = options.progress === false
    ? undefined
    : startProgress(`${tier} points`, { total: points.length });
  // The live progress: <run>/progress.json for `./servelab run` (lib/run/progress_file.ts), the bar here.
  const live = sweepProgress(tier, points.length);
  for (const [i, point] of points.entries()) {
    const paths = pointPaths(run, tier, point.id);
    const now = live.start(i + 1, point);
    if (!force && (await pointDone(run, tier, point.id))) {
      summary.skipped.push(point.id);
      live.finish("skipped", 0);
    } else {
      await writeProgress(run.dir, now);
      const left = now.eta_s !== undefined ? `, ~${durationText(now.eta_s)} left` : "";
      await bar?.update(i, `${now.params || point.id} · ${durationText(now.elapsed_s)} elapsed${left}`);
      if (force) {
        for (const p of [paths.json, paths.csv]) await Deno.remove(p).catch(() => {});
      }
      const t0 = performance.now();
      try {
        const result = await fn(point);
        await writePoint(run, tier, point.id, result, (performance.now() - t0) / 1000);
        summary.done.push(point.id);
        live.finish("ran", (performance.now() - t0) / 1000);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const failure: PointFailure = {
          tier,
          id: point.id,
          failed_at: new Date().toISOString(),
          error: e.message,
          stack: e.stack,
        };
        await writeJsonAtomic(paths.failed, failure);
        summary.failed.push({ id: point.id, error: e.message });
        live.finish("failed", (performance.now() - t0) / 1000);
      }
    }
    const failed = summary.failed.length ? `, ${summary.failed.length} failed` : "";
    await bar?.update(i + 1, `${point.id}${failed}`);
  }
  const note =
    `${summary.done.length} run, ${summary.skipped.length} already done, ${summary.failed.length} failed`;
  await bar?.done(note);
  await writeProgress(run.dir, live.end());
  return summary;
}

/** Options for {@link collectPoints}. */
export interface CollectOptions {
  /** Output file name in the run folder. Default `<tier>.csv`. */
  file?: string;
  /** Column order. Default: `point_id`, then the point CSVs' columns in first-seen order. */
  columns?: readonly string[];
  /** Points to include, in this order. Default: every finished point, ids in natural order. */
  ids?: readonly string[];
}

/** What {@link collectPoints} wrote. */
export interface CollectSummary {
  path: string;
  rows: number;
  points: string[];
  /** Points with a `.failed.json` and no result. */
  failed: string[];
}

/**
 * Concatenates the finished points' CSVs into the tier's CSV (atomically), adding a `point_id` column
 * when the rows lack one.
 *
 * @example
 * ```ts
 * const { path } = await collectPoints(run, "ttft", { file: "ttft.csv" });
 * ```
 */
export async function collectPoints(
  run: Run,
  tier: string,
  options: CollectOptions = {},
): Promise<CollectSummary> {
  checkName("tier", tier);
  const dir = join(run.pointsDir, tier);
  const done: string[] = [];
  const failed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".failed.json")) failed.push(e.name.slice(0, -".failed.json".length));
      else if (e.name.endsWith(".json")) done.push(e.name.slice(0, -".json".length));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const ids = options.ids
    ? options.ids.filter((id) => done.includes(id))
    : done.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const rows: CsvRow[] = [];
  const seen = new Set<string>();
  for (const id of ids) {
    let text: string;
    try {
      text = await Deno.readTextFile(pointPaths(run, tier, id).csv);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // a point with data only
      throw err;
    }
    const records = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const header = text.split(/\r?\n/, 1)[0];
    for (const c of parse(header)[0] as string[]) seen.add(c);
    for (const r of records) rows.push("point_id" in r ? r : { point_id: id, ...r });
  }
  const columns = options.columns ?? ["point_id", ...[...seen].filter((c) => c !== "point_id")];
  const path = join(run.dir, options.file ?? `${tier}.csv`);
  await writeTextAtomic(path, toCsv(rows, columns, { source: `tier ${tier}`, extra: "ignore" }));
  return { path, rows: rows.length, points: ids, failed: failed.filter((f) => !done.includes(f)).sort() };
}
