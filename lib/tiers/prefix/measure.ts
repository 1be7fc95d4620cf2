/**
 * Tier 2's measurement: the same seeded workload against an engine with prefix caching off and one
 * with it on, interleaved, over three sweeps (shared-prefix length x concurrency, share of traffic
 * that shares the prefix, working set of prefixes against a small KV pool). Each run of a point resets
 * the cache, primes it one request at a time where the point needs it, then measures; /metrics is
 * scraped before and after (prefix-cache counters) and sampled during the run (KV usage).
 *
 * Writes `points/prefix/<id>.{csv,json}` through runPoints, then `prefix_cache.csv` (one row per
 * request) and `prefix_cache_runs.csv` (one row per run: both hit-rate measures, KV usage, tok/s).
 * @module
 */
import { join } from "node:path";
import { mean } from "../../base/stats.ts";
import { createClock } from "../../probe/clock.ts";
import { tokenize } from "../../probe/prompts.ts";
import type { CsvRow } from "../../run/csv.ts";
import { writeCsv } from "../../run/csv.ts";
import { collectPoints, readPoint, runPoints, type RunPointsSummary } from "../../run/points.ts";
import type { Run } from "../../run/run_dir.ts";
import type { LabEnv } from "../lab_env.ts";
import { type PointContext, PREFIX_REQUEST_COLUMNS, PREFIX_RUN_COLUMNS, runOnce } from "./_run_once.ts";
import { type PrefixArm, type PrefixEngineInfo, PrefixEngines, prefixServeConfig } from "./engines.ts";
import { loadPrefixFamilies, type PrefixFamily } from "./families.ts";
import { alignPrefixTokens, prefixCapacity } from "./hit_rate.ts";
import type { PrefixInterleave, PrefixParams } from "./params.ts";
import {
  planPrefixRequests,
  type PrefixPlanSpec,
  type PrefixPoint,
  prefixProbeRequests,
  prefixPromptBuilder,
  type PrefixRequestPlan,
} from "./workload.ts";

/** The tier name used for point files. */
export const PREFIX_TIER = "prefix";

/**
 * The points of the three sweeps, in run order: lengths (sub-block first) for each concurrency, then
 * shares, then the cliff's working sets.
 *
 * @example
 * ```ts
 * prefixPoints(prefixParams(labEnv())).map((p) => p.id); // ["len-sub-c1", "len-256-c1", ...]
 * ```
 */
export function prefixPoints(P: PrefixParams): PrefixPoint[] {
  const out: PrefixPoint[] = [];
  for (const c of P.concurrency) {
    if (P.sub_block_point) {
      out.push({ id: `len-sub-c${c}`, sweep: "length", concurrency: c, prefix_tokens: "sub_block" });
    }
    for (const n of P.prefix_tokens) {
      out.push({ id: `len-${n}-c${c}`, sweep: "length", concurrency: c, prefix_tokens: n });
    }
  }
  for (const s of P.shares_pct) {
    out.push({
      id: `share-${s}`,
      sweep: "share",
      concurrency: P.share_concurrency,
      prefix_tokens: P.share_prefix_tokens,
      share_pct: s,
    });
  }
  for (const x of P.cliff_load) {
    out.push({
      id: `cliff-x${x}`,
      sweep: "cliff",
      concurrency: P.cliff_concurrency,
      prefix_tokens: P.cliff_prefix_tokens,
      load_factor: x,
    });
  }
  return out;
}

/**
 * The order of a point's runs. `parallel` (both engines up): arms alternate within each repeat and the
 * first arm alternates between repeats and points (off,on / on,off / ...). `by_point` (one engine at a
 * time): all repeats of one arm, then the other, the first arm alternating between points, so the
 * engine running at the end of a point starts the next one (points + 1 launches in all).
 *
 * @example
 * ```ts
 * prefixArmSequence(0, 2, "parallel", ["off", "on"]); // off r0, on r0, on r1, off r1
 * prefixArmSequence(1, 1, "by_point", ["off", "on"]); // on r0, off r0
 * ```
 */
export function prefixArmSequence(
  point_index: number,
  repeats: number,
  interleave: PrefixInterleave,
  arms: readonly PrefixArm[],
): { arm: PrefixArm; repeat: number }[] {
  const out: { arm: PrefixArm; repeat: number }[] = [];
  const flip = (n: number) => (n % 2 === 0 ? [...arms] : [...arms].reverse());
  if (interleave === "parallel") {
    for (let r = 0; r < repeats; r++) for (const arm of flip(point_index + r)) out.push({ arm, repeat: r });
  } else {
    for (const arm of flip(point_index)) for (let r = 0; r < repeats; r++) out.push({ arm, repeat: r });
  }
  return out;
}

export { PREFIX_REQUEST_COLUMNS, PREFIX_RUN_COLUMNS } from "./_run_once.ts";

/** What {@link measurePrefix} did. */
export interface PrefixMeasurement {
  /** prefix_cache.csv */
  requests_csv: string;
  /** prefix_cache_runs.csv */
  runs_csv: string;
  points: RunPointsSummary;
  /** ["off", "on"], or ["on"] on an external engine. */
  arms: PrefixArm[];
  /** Engines started by this call (0 when every point was already done). */
  launches: number;
  /** Things the reader must know (what was skipped and why). */
  notes: string[];
}

/** Options of {@link measurePrefix}. */
export interface MeasurePrefixOptions {
  /** Families to use (default: data/prefix_prompts.jsonl). */
  families?: PrefixFamily[];
  /** Show point progress (default true). */
  progress?: boolean;
}

/**
 * Runs the tier's sweeps into `run` and writes its CSVs. Engines the lab starts are stopped before it
 * returns. On an external engine only the "on" arm runs (caching cannot be toggled there) and the cliff
 * is skipped (its small pool cannot be set); the notes say so.
 *
 * @example
 * ```ts
 * const run = await runDirFromEnv({ engine: lab.engine });
 * const m = await measurePrefix(run, lab, prefixParams(lab));
 * ```
 */
export async function measurePrefix(
  run: Run,
  lab: LabEnv,
  P: PrefixParams,
  opts: MeasurePrefixOptions = {},
): Promise<PrefixMeasurement> {
  const families = opts.families ?? await loadPrefixFamilies();
  const family = families.findIndex((f) => f.family === P.family);
  if (family < 0) {
    throw new Error(
      `Prefix family '${P.family}' is not in the families file; use one of ${
        families.map((f) => f.family).join(", ")
      } (SERVELAB_PREFIX_FAMILY).`,
    );
  }
  const notes: string[] = [];
  const external = lab.engine === "external";
  const arms: PrefixArm[] = external ? ["on"] : ["off", "on"];
  let points = prefixPoints(P);
  if (external) {
    notes.push(
      "External engine: prefix caching cannot be toggled, so only the 'on' arm ran (no caching-off baseline).",
    );
    if (points.some((p) => p.sweep === "cliff")) {
      notes.push(
        "External engine: the eviction cliff needs a small KV pool the lab cannot set; not measured.",
      );
      points = points.filter((p) => p.sweep !== "cliff");
    }
  }
  if (lab.engine === "llamacpp" && points.some((p) => p.sweep === "cliff")) {
    notes.push(
      "llama.cpp: no eviction cliff. Its prompt cache is one cached prompt per slot (the lab turns off the " +
        "host-RAM prompt cache), not a shared block pool that a working set could overflow; not measured.",
    );
    points = points.filter((p) => p.sweep !== "cliff");
  }
  const clock = createClock();
  await using engines = new PrefixEngines({ exclusive: P.interleave === "by_point", run });
  const builder = prefixPromptBuilder((text) => {
    const e = engines.any();
    if (!e) throw new Error("Cannot tokenize: no engine is running.");
    return tokenize(e.engine.baseUrl, e.engine.model, text, { headers: e.engine.headers() });
  }, families);
  let block_size: number | undefined;
  const armEngine = async (arm: PrefixArm) => {
    const info = await engines.get(arm, prefixServeConfig(lab, arm));
    block_size ??= info.block_size;
    return info;
  };

  const prepare = async (point: PrefixPoint, B: number, extra: Partial<PointContext> = {}) => {
    const c = point.concurrency;
    const prefix_tokens = point.prefix_tokens === "sub_block"
      ? Math.max(1, Math.floor(B / 2))
      : alignPrefixTokens(point.prefix_tokens, B);
    const base = {
      point_id: point.id,
      seed: lab.seed,
      family,
      suffix_counts: families.map((f) => f.suffixes.length),
    };
    const requests_per_run = point.sweep === "share"
      ? Math.max(2 * P.requests, 2 * c)
      : Math.max(P.requests, 2 * c);
    const output_tokens = point.sweep === "cliff" ? P.cliff_output_tokens : P.output_tokens;
    const plans: PrefixRequestPlan[] = [];
    for (let r = 0; r < P.repeats; r++) {
      const spec: PrefixPlanSpec = point.sweep === "cliff"
        ? { ...base, repeat: r, sweep: "cliff", working_set: extra.working_set!, rounds: P.cliff_rounds }
        : point.sweep === "share"
        ? {
          ...base,
          repeat: r,
          sweep: "share",
          share: (point.share_pct ?? 0) / 100,
          requests: requests_per_run,
        }
        : { ...base, repeat: r, sweep: "length", requests: requests_per_run };
      plans.push(planPrefixRequests(spec));
    }
    const model = engines.any()!.engine.model;
    const prompts = [];
    for (const plan of plans) {
      const o = { model, prefix_tokens, output_tokens };
      prompts.push({
        prime: await prefixProbeRequests(builder, plan.prime, o),
        measure: await prefixProbeRequests(builder, plan.measure, o),
      });
    }
    const ctx: PointContext = {
      point,
      prefix_tokens,
      requests_per_run,
      output_tokens,
      family,
      plans,
      prompts,
      ...extra,
    };
    return ctx;
  };

  const cliffContext = async (point: PrefixPoint): Promise<{ info: PrefixEngineInfo; ctx: PointContext }> => {
    const B = block_size ?? (await armEngine("on")).block_size;
    await engines.closeExcept("cliff");
    const prefix_tokens = alignPrefixTokens(point.prefix_tokens as number, B);
    const pool_blocks = Math.ceil(P.cliff_pool_tokens / B);
    // Any engine serves /tokenize for the same model: the cliff engine does once it runs.
    const info = await engines.get(
      "cliff",
      prefixServeConfig(lab, "cliff", { num_gpu_blocks: pool_blocks + 1, max_model_len: pool_blocks * B }),
    );
    const suffixes = await Promise.all(
      families.flatMap((f, fi) => f.suffixes.map((_, si) => builder.suffixIds(fi, si, `m0.0.${point.id}`))),
    );
    const suffix_tokens = mean(suffixes.map((s) => s.length)) ?? 0;
    const capacity = prefixCapacity({
      usable_blocks: (info.num_gpu_blocks ?? pool_blocks + 1) - 1,
      block_size: info.block_size,
      prefix_tokens,
      suffix_tokens,
      output_tokens: P.cliff_output_tokens,
    });
    if (capacity < 1) {
      throw new Error(
        `The cliff pool of ${P.cliff_pool_tokens} tokens cannot hold one ${prefix_tokens}-token prefix request; ` +
          `raise SERVELAB_PREFIX_CLIFF_POOL_TOKENS or lower SERVELAB_PREFIX_CLIFF_TOKENS.`,
      );
    }
    const working_set = Math.max(1, Math.round((point.load_factor ?? 1) * capacity));
    const ctx = await prepare(point, info.block_size, { working_set, capacity });
    return { info, ctx };
  };

  const pointRows = async (point: PrefixPoint, index: number) => {
    const rows: CsvRow[] = [];
    const runs: CsvRow[] = [];
    if (point.sweep === "cliff") {
      const { info, ctx } = await cliffContext(point);
      for (let r = 0; r < P.repeats; r++) {
        const out = await runOnce(info, "on", r, r, ctx, clock, P);
        rows.push(...out.rows);
        runs.push(out.run);
      }
    } else {
      const seq = prefixArmSequence(index, P.repeats, P.interleave, arms);
      const first = await armEngine(seq[0].arm);
      const ctx = await prepare(point, first.block_size);
      for (const [order, { arm, repeat }] of seq.entries()) {
        const out = await runOnce(await armEngine(arm), arm, repeat, order, ctx, clock, P);
        rows.push(...out.rows);
        runs.push(out.run);
      }
    }
    // A crashed engine fails the point (its requests failed for want of a server); the next one restarts it.
    const dead = await engines.exited(rows.some((r) => r.ok === false) ? 1_000 : 0);
    if (dead.length) {
      const which = `${dead.join(" and ")} engine${dead.length > 1 ? "s" : ""}`;
      throw new Error(
        `The ${which} exited during prefix point ${point.id}, so its results are incomplete; the point is ` +
          `recorded as failed and the next point starts a new engine. Logs: ${run.logsDir}`,
      );
    }
    return { rows, columns: PREFIX_REQUEST_COLUMNS, data: { runs } };
  };

  const summary = await runPoints(run, PREFIX_TIER, points, (p) => pointRows(p, points.indexOf(p)), {
    progress: opts.progress,
  });
  const launches = engines.launches;
  await engines.closeExcept();
  for (const f of summary.failed) notes.push(`Point ${f.id} failed: ${f.error}`);

  const requests = await collectPoints(run, PREFIX_TIER, {
    file: "prefix_cache.csv",
    columns: PREFIX_REQUEST_COLUMNS,
    ids: points.map((p) => p.id),
  });
  const runRows: CsvRow[] = [];
  for (const p of points) {
    const rec = await readPoint(run, PREFIX_TIER, p.id);
    const data = rec?.data as { runs?: CsvRow[] } | undefined;
    if (data?.runs) runRows.push(...data.runs);
  }
  const runs_csv = join(run.dir, "prefix_cache_runs.csv");
  await writeCsv(runs_csv, runRows, PREFIX_RUN_COLUMNS, { extra: "ignore" });
  return { requests_csv: requests.path, runs_csv, points: summary, arms, launches, notes };
}
