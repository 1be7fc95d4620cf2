/** Compares two run folders: workload check, then metric rows with a bootstrap noise verdict. */
import { parse } from "csv-parse/sync";
import { join } from "node:path";
import { openRun } from "../run/run_dir.ts";
import { readManifest } from "../run/manifest.ts";
import { createRng } from "../base/random.ts";
import { quantile } from "../base/stats.ts";
import { checkPoints, type Row } from "./points.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier, CompareMetric } from "../tiers/tier.ts";

/** One compared metric. `beyond_noise` is undefined when no test applies (exact or n too small). */
export interface CompareRow {
  tier: string;
  metric: string;
  a?: number;
  b?: number;
  diff?: number;
  diff_pct?: number;
  test: string;
  ci_lo?: number;
  ci_hi?: number;
  beyond_noise?: boolean;
}

/** The outcome of {@link compareRuns}. */
export type CompareResult =
  | {
    kind: "compared";
    a: string;
    b: string;
    rows: CompareRow[];
    missing_tiers: string[];
    /** Points measured by one run only (left out; the common points are compared), and unchecked columns. */
    left_out: string[];
  }
  | { kind: "refused"; a: string; b: string; mismatches: string[] };

function get(obj: unknown, path: string): unknown {
  let cur = obj as Record<string, unknown> | undefined;
  for (const key of path.split(".")) cur = cur?.[key] as Record<string, unknown> | undefined;
  return cur;
}

/**
 * The workload fields on which two manifests differ, each named with both values.
 *
 * @example
 * ```ts
 * workloadMismatches({ model: "a" }, { model: "b" }); // ["model: a vs b"]
 * ```
 */
export function workloadMismatches(a: unknown, b: unknown): string[] {
  const fields = ["engine.kind", "model", "sim_profile", "params.size"];
  const out: string[] = [];
  const paramKeys = new Set([
    ...Object.keys((get(a, "params") ?? {}) as object),
    ...Object.keys((get(b, "params") ?? {}) as object),
  ]);
  paramKeys.delete("force");
  paramKeys.delete("size");
  const all = [...fields, ...[...paramKeys].map((k) => `params.${k}`)];
  for (const f of all) {
    const va = JSON.stringify(get(a, f));
    const vb = JSON.stringify(get(b, f));
    if (va !== vb) out.push(`${f}: ${va ?? "absent"} vs ${vb ?? "absent"}`);
  }
  const hashes = (m: unknown) =>
    new Map(
      ((get(m, "inputs") ?? []) as { path?: string; sha256?: string }[]).map((i) => [i.path, i.sha256]),
    );
  const [ha, hb] = [hashes(a), hashes(b)];
  if (ha.size === 0 || hb.size === 0) {
    if (ha.size !== hb.size) out.push(`inputs: ${ha.size} hashed files vs ${hb.size} hashed files`);
  } else {
    for (const path of new Set([...ha.keys(), ...hb.keys()])) {
      if (ha.get(path) !== hb.get(path)) {
        out.push(`inputs ${path} sha256: ${ha.get(path) ?? "absent"} vs ${hb.get(path) ?? "absent"}`);
      }
    }
  }
  return out;
}

async function readRows(dir: string, file: string): Promise<Row[] | undefined> {
  try {
    return parse(await Deno.readTextFile(join(dir, file)), {
      columns: true,
      skip_empty_lines: true,
    }) as Row[];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Bootstrap CI of quantile(B) - quantile(A), percentile method. */
function bootstrapDiff(a: number[], b: number[], p: number, level: number, seed: number) {
  const rng = createRng(seed);
  const pick = (xs: number[]) => xs.map(() => xs[Math.floor(rng() * xs.length)]);
  const diffs: number[] = [];
  for (let i = 0; i < 1000; i++) diffs.push(quantile(pick(b), p)! - quantile(pick(a), p)!);
  return [quantile(diffs, (1 - level) / 2)!, quantile(diffs, 1 - (1 - level) / 2)!] as const;
}

function row(
  tier: string,
  metric: string,
  a: number | undefined,
  b: number | undefined,
  rest: Partial<CompareRow>,
) {
  const diff = a !== undefined && b !== undefined ? b - a : undefined;
  const diff_pct = diff !== undefined && a ? (diff / a) * 100 : undefined;
  return { tier, metric, a, b, diff, diff_pct, test: "exact", ...rest } as CompareRow;
}

const LEVEL = 0.95;

/**
 * Whether one point of two runs differs beyond noise: `sample` a bootstrap 95% CI of the difference of the
 * medians of the values, `repeats` whether the ranges of the values do not overlap, `exact` whether the
 * values differ. Undefined when the test cannot apply (fewer than 2 values a side, or a value missing).
 *
 * @example
 * ```ts
 * noiseVerdict("repeats", [10, 11], [20, 21]); // true
 * ```
 */
export function noiseVerdict(
  test: "sample" | "repeats" | "exact",
  a: readonly number[],
  b: readonly number[],
): boolean | undefined {
  if (test === "exact") return a.length && b.length ? a[0] !== b[0] : undefined;
  if (a.length < 2 || b.length < 2) return undefined;
  if (test === "repeats") return !(Math.max(...a) >= Math.min(...b) && Math.max(...b) >= Math.min(...a));
  const [lo, hi] = bootstrapDiff([...a], [...b], 0.5, LEVEL, 1);
  return lo > 0 || hi < 0;
}

function sampleRow(tier: string, metric: string, a: number[], b: number[], p: number): CompareRow {
  if (a.length < 2 || b.length < 2) {
    return row(tier, metric, a.length ? quantile(a, p) : undefined, b.length ? quantile(b, p) : undefined, {
      test: "none (n<2)",
    });
  }
  const [lo, hi] = bootstrapDiff(a, b, p, LEVEL, 1);
  return row(tier, metric, quantile(a, p), quantile(b, p), {
    test: `bootstrap ${LEVEL * 100}% CI of diff of p${p * 100}`,
    ci_lo: lo,
    ci_hi: hi,
    beyond_noise: lo > 0 || hi < 0,
  });
}

function repeatRow(tier: string, metric: string, a: number[], b: number[]): CompareRow {
  const med = (xs: number[]) => (xs.length ? quantile(xs, 0.5) : undefined);
  if (a.length < 2 || b.length < 2) return row(tier, metric, med(a), med(b), { test: "none (repeats<2)" });
  const overlap = Math.max(...a) >= Math.min(...b) && Math.max(...b) >= Math.min(...a);
  return row(tier, metric, med(a), med(b), {
    test: "spread across repeats (ranges overlap?)",
    ci_lo: Math.min(...b) - Math.max(...a),
    ci_hi: Math.max(...b) - Math.min(...a),
    beyond_noise: !overlap,
  });
}

function metricRow(tier: string, m: CompareMetric): CompareRow {
  switch (m.kind) {
    case "sample":
      return sampleRow(tier, m.metric, m.a, m.b, m.p);
    case "repeats":
      return repeatRow(tier, m.metric, m.a, m.b);
    case "exact": {
      const r = row(tier, m.metric, m.a, m.b, {});
      r.beyond_noise = r.a !== undefined && r.b !== undefined ? r.a !== r.b : undefined;
      return r;
    }
    default: {
      const never: never = m;
      throw new Error(`Unknown compare metric ${JSON.stringify(never)}`);
    }
  }
}

type Loader = (file: string) => Promise<readonly [Row[] | undefined, Row[] | undefined]>;

async function tierRows(tiers: readonly AnyTier[], load: Loader, missing: string[]): Promise<CompareRow[]> {
  const out: CompareRow[] = [];
  for (const t of tiers) {
    const name = `Tier ${t.number}`;
    const loaded = new Map<string, readonly [Row[], Row[]] | undefined>();
    for (const f of t.files) {
      const [a, b] = await load(f.name);
      loaded.set(f.name, a && b ? [a, b] : undefined);
    }
    if (!loaded.get(t.files[0].name)) {
      missing.push(`${name} (${t.files[0].name}): not in both runs`);
      continue;
    }
    for (const m of t.compare((file) => loaded.get(file))) out.push(metricRow(name, m));
  }
  return out;
}

/**
 * Compares two runs (ids under `root` or paths); refuses when their workloads differ: the manifests
 * ({@link workloadMismatches}) or a point both runs measured with different parameters (points.ts).
 * Points only one run measured are left out and listed in `left_out`.
 *
 * @example
 * ```ts
 * const r = await compareRuns("20261128-055714-sim-1e89", "20261128-061000-sim-ab12");
 * if (r.kind === "refused") console.log(r.mismatches);
 * ```
 */
export async function compareRuns(
  a: string,
  b: string,
  options: { root?: string; tiers?: readonly AnyTier[] } = {},
): Promise<CompareResult> {
  const tiers = options.tiers ?? TIERS;
  const [runA, runB] = [await openRun(a, options), await openRun(b, options)];
  const [ma, mb] = [await readManifest(runA.manifestPath), await readManifest(runB.manifestPath)];
  const mismatches = workloadMismatches(ma, mb);
  if (mismatches.length) return { kind: "refused", a: runA.id, b: runB.id, mismatches };
  const files = new Map<string, readonly [Row[] | undefined, Row[] | undefined]>();
  const left_out: string[] = [];
  for (const spec of tiers.flatMap((t) => t.comparePoints)) {
    const [ra, rb] = [await readRows(runA.dir, spec.file), await readRows(runB.dir, spec.file)];
    if (!ra || !rb) {
      files.set(spec.file, [ra, rb]);
      continue;
    }
    const c = checkPoints(spec, ra, rb);
    mismatches.push(...c.mismatches);
    if (!spec.check_only) left_out.push(...c.left_out);
    left_out.push(...c.unchecked);
    files.set(spec.file, [ra.filter(c.keepA), rb.filter(c.keepB)]);
  }
  if (mismatches.length) return { kind: "refused", a: runA.id, b: runB.id, mismatches };
  const load: Loader = async (file) =>
    files.get(file) ?? [await readRows(runA.dir, file), await readRows(runB.dir, file)];
  const missing_tiers: string[] = [];
  const rows = await tierRows(tiers, load, missing_tiers);
  return { kind: "compared", a: runA.id, b: runB.id, rows, missing_tiers, left_out };
}
