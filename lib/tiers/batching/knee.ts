/**
 * The batching tier's rules, as pure functions of per-point aggregates: the knee of the throughput
 * curve, the sweet spot under an SLO, and the highest Poisson rate that meets the SLO. Invalid points
 * are never used; each result lists them in `excluded` and says so in its reason.
 *
 * Knee. The throughput gain per doubling from concurrency c_i to c_j is
 * g(i, j) = (X_j / X_i)^(1 / log2(c_j / c_i)) - 1. The knee is the lowest tested concurrency c_i from
 * which no later point gains `min_gain` or more per doubling (for every j > i: g(i, j) < min_gain): past
 * it, doubling the concurrency mostly doubles latency (Little's law: W = N / X) and buys little
 * throughput. Asking it of every later point (not only the next) keeps one noisy dip from ending the
 * curve early. No such c_i below the last point: the knee was not reached within the sweep.
 *
 * Sweet spot. The SLO limit is the highest concurrency such that it and every valid point below it
 * meet the SLO (p95 TTFT <= ttft limit and p95 TPOT <= tpot limit). The sweet spot is the SLO limit
 * capped at the knee. Its range runs from the lowest concurrency that gives `range_fraction` of the sweet
 * spot's throughput to the highest that still meets the SLO within the knee region (the knee and the
 * next tested point).
 * @module
 */

/** One aggregated point of the concurrency sweep. */
export interface BatchingKneePoint {
  concurrency: number;
  /** Request throughput, req/s; undefined when not measured. */
  throughput_rps?: number;
  valid: boolean;
}

/** What the knee rule found. */
export type BatchingKneeResult =
  | {
    kind: "knee";
    concurrency: number;
    throughput_rps: number;
    /** The gain per doubling from the previous tested point to the knee (undefined at the first point). */
    gain_before?: number;
    /** The next tested point and the gain per doubling to it. */
    next_concurrency: number;
    gain_after: number;
    excluded: number[];
    reason: string;
  }
  | { kind: "not_reached"; last_concurrency: number; last_gain: number; excluded: number[]; reason: string }
  | { kind: "insufficient"; excluded: number[]; reason: string };

/**
 * Throughput gain per doubling of concurrency between two points: (x1 / x0)^(1 / log2(c1 / c0)) - 1.
 *
 * @example
 * ```ts
 * batchingGainPerDoubling(1, 100, 4, 150); // 0.2247: 1.5x over two doublings
 * ```
 */
export function batchingGainPerDoubling(c0: number, x0: number, c1: number, x1: number): number {
  if (!(c1 > c0 && c0 > 0)) {
    throw new RangeError(`Cannot take a gain per doubling from c=${c0} to c=${c1}: need 0 < c0 < c1.`);
  }
  if (x0 <= 0) return x1 > 0 ? Infinity : 0;
  return Math.pow(x1 / x0, 1 / Math.log2(c1 / c0)) - 1;
}

const pct = (g: number) => Number.isFinite(g) ? `${g >= 0 ? "+" : ""}${(100 * g).toFixed(0)}%` : "unbounded";
const n3 = (x: number) => String(Number(x.toPrecision(3)));

function usable<P extends { valid: boolean; concurrency: number }>(
  points: readonly P[],
  has: (p: P) => boolean,
): { pts: P[]; excluded: number[] } {
  const seen = new Set<number>();
  for (const p of points) {
    if (seen.has(p.concurrency)) {
      throw new Error(
        `Cannot apply the batching rules: concurrency ${p.concurrency} appears twice; aggregate the repeats first.`,
      );
    }
    seen.add(p.concurrency);
  }
  const pts = points.filter((p) => p.valid && has(p)).sort((a, b) => a.concurrency - b.concurrency);
  const excluded = points.filter((p) => !p.valid).map((p) => p.concurrency).sort((a, b) => a - b);
  return { pts, excluded };
}

function excludedNote(excluded: readonly number[]): string {
  return excluded.length ? ` Invalid points left out of the rule: c=${excluded.join(", ")}.` : "";
}

/**
 * Finds the knee of a throughput-vs-concurrency curve (rule in the module doc).
 *
 * @example
 * ```ts
 * const k = batchingKnee([1, 2, 4, 8, 16].map((c, i) => ({ concurrency: c, throughput_rps: [10, 20, 38, 41, 42][i], valid: true })), { min_gain: 0.1 });
 * k.kind === "knee" && k.concurrency; // 4
 * ```
 */
export function batchingKnee(
  points: readonly BatchingKneePoint[],
  opts: { min_gain: number },
): BatchingKneeResult {
  const T = opts.min_gain;
  const { pts, excluded } = usable(points, (p) => p.throughput_rps !== undefined);
  const note = excludedNote(excluded);
  if (pts.length < 2) {
    return {
      kind: "insufficient",
      excluded,
      reason: `The knee needs at least 2 valid points with a throughput; ${pts.length} there.${note}`,
    };
  }
  const X = pts.map((p) => p.throughput_rps!);
  if (X.every((x) => x <= 0)) {
    return { kind: "insufficient", excluded, reason: `No valid point completed any request.${note}` };
  }
  const c = pts.map((p) => p.concurrency);
  const g = (i: number, j: number) => batchingGainPerDoubling(c[i], X[i], c[j], X[j]);
  for (let i = 0; i < pts.length - 1; i++) {
    let all = true;
    for (let j = i + 1; j < pts.length && all; j++) all = g(i, j) < T;
    if (!all) continue;
    const gain_before = i > 0 ? g(i - 1, i) : undefined;
    const before = i === 0
      ? `Throughput does not grow from the lowest concurrency tested (c=${c[0]}, ${n3(X[0])} req/s): ` +
        "the server is saturated (or serializes requests) from the start."
      : `Up to c=${c[i]} throughput grows (${pct(gain_before!)} per doubling from c=${c[i - 1]}) to ` +
        `${n3(X[i])} req/s.`;
    return {
      kind: "knee",
      concurrency: c[i],
      throughput_rps: X[i],
      gain_before,
      next_concurrency: c[i + 1],
      gain_after: g(i, i + 1),
      excluded,
      reason: `${before} Beyond it no doubling gains ${pct(T)} or more (c=${c[i + 1]}: ` +
        `${pct(g(i, i + 1))} per doubling), so extra concurrency turns into latency, not throughput.${note}`,
    };
  }
  const n = pts.length;
  const last_gain = g(n - 2, n - 1);
  return {
    kind: "not_reached",
    last_concurrency: c[n - 1],
    last_gain,
    excluded,
    reason:
      `Throughput still grows at the end of the sweep (${pct(last_gain)} per doubling from c=${c[n - 2]} ` +
      `to c=${c[n - 1]}, at least ${pct(T)} needed to keep growing): the knee lies beyond c=${c[n - 1]}; ` +
      `extend the sweep.${note}`,
  };
}

/** The SLO of the sweet-spot rule: p95 limits, ms. */
export interface BatchingSlo {
  ttft_p95_ms: number;
  tpot_p95_ms: number;
}

/** One aggregated point with the latencies the SLO judges. */
export interface BatchingSloPoint extends BatchingKneePoint {
  ttft_p95_ms?: number;
  tpot_p95_ms?: number;
}

/** What the sweet-spot rule found. */
export type BatchingSweetSpotResult =
  | {
    kind: "sweet_spot";
    concurrency: number;
    throughput_rps?: number;
    range: { lo: number; hi: number };
    /** Highest concurrency meeting the SLO from the bottom up (not capped by the knee). */
    slo_limit: number;
    /** What set the sweet spot: the knee, the SLO, or the end of the sweep (no knee, SLO never broken). */
    bound: "knee" | "slo" | "sweep_end";
    excluded: number[];
    reason: string;
  }
  | { kind: "none"; excluded: number[]; reason: string };

function sloVerdict(p: { ttft_p95_ms?: number; tpot_p95_ms?: number }, slo: BatchingSlo): string | undefined {
  const bad: string[] = [];
  if (p.ttft_p95_ms === undefined) bad.push("p95 TTFT not measured");
  else if (p.ttft_p95_ms > slo.ttft_p95_ms) {
    bad.push(`p95 TTFT ${n3(p.ttft_p95_ms)} ms > ${slo.ttft_p95_ms} ms`);
  }
  if (p.tpot_p95_ms !== undefined && p.tpot_p95_ms > slo.tpot_p95_ms) {
    bad.push(`p95 TPOT ${n3(p.tpot_p95_ms)} ms > ${slo.tpot_p95_ms} ms`);
  }
  return bad.length ? bad.join(" and ") : undefined;
}

function sloText(p: { ttft_p95_ms?: number; tpot_p95_ms?: number }): string {
  const tpot = p.tpot_p95_ms === undefined ? "" : `, p95 TPOT ${n3(p.tpot_p95_ms)} ms`;
  return `p95 TTFT ${p.ttft_p95_ms === undefined ? "n/a" : n3(p.ttft_p95_ms)} ms${tpot}`;
}

/**
 * The highest x meeting the SLO from the bottom up, over valid points sorted by `x`: the last point of
 * the run of SLO-meeting points that starts at the lowest x, and the first point that broke it.
 *
 * @example
 * ```ts
 * batchingSloPrefix(pts, (p) => p.concurrency, { ttft_p95_ms: 200, tpot_p95_ms: 25 }).limit?.concurrency;
 * ```
 */
export function batchingSloPrefix<P extends { ttft_p95_ms?: number; tpot_p95_ms?: number }>(
  sorted: readonly P[],
  slo: BatchingSlo,
): { limit?: P; broken?: P; why?: string } {
  let limit: P | undefined;
  for (const p of sorted) {
    const why = sloVerdict(p, slo);
    if (why) return { limit, broken: p, why };
    limit = p;
  }
  return { limit };
}

/**
 * The sweet spot: the highest concurrency meeting the SLO, capped at the knee (rule in the module doc).
 *
 * @example
 * ```ts
 * const s = batchingSweetSpot(points, { ttft_p95_ms: 200, tpot_p95_ms: 25 }, batchingKnee(points, { min_gain: 0.2 }), { range_fraction: 0.8 });
 * s.kind === "sweet_spot" && s.concurrency;
 * ```
 */
export function batchingSweetSpot(
  points: readonly BatchingSloPoint[],
  slo: BatchingSlo,
  knee: BatchingKneeResult,
  opts: { range_fraction: number },
): BatchingSweetSpotResult {
  const { pts, excluded } = usable(points, () => true);
  const note = excludedNote(excluded);
  if (pts.length === 0) return { kind: "none", excluded, reason: `No valid point to judge.${note}` };
  const { limit, broken, why } = batchingSloPrefix(pts, slo);
  const limits = `SLO: p95 TTFT <= ${slo.ttft_p95_ms} ms and p95 TPOT <= ${slo.tpot_p95_ms} ms.`;
  if (!limit) {
    return {
      kind: "none",
      excluded,
      reason:
        `No concurrency meets the SLO, not even the lowest valid one (c=${pts[0].concurrency}: ${why}): ` +
        `the SLO is tighter than the unloaded latency of this engine for this workload. ${limits}${note}`,
    };
  }
  const cap = knee.kind === "knee" ? knee.concurrency : Infinity;
  const within = pts.filter((p) => p.concurrency <= Math.min(cap, limit.concurrency));
  const sweet = within[within.length - 1];
  const bound: "knee" | "slo" | "sweep_end" = knee.kind === "knee" && limit.concurrency >= knee.concurrency
    ? "knee"
    : broken
    ? "slo"
    : "sweep_end";
  let hi = sweet.concurrency;
  if (bound === "knee") {
    const after = pts.find((p) => p.concurrency > sweet.concurrency);
    if (after && after.concurrency <= limit.concurrency) hi = after.concurrency;
  }
  const X = sweet.throughput_rps;
  const lo = X === undefined
    ? sweet.concurrency
    : within.find((p) => p.throughput_rps !== undefined && p.throughput_rps >= opts.range_fraction * X)!
      .concurrency;
  const more = (c: number) => {
    const x = pts.find((p) => p.concurrency === c)?.throughput_rps;
    return x === undefined || X === undefined || X <= 0 ? "n/a more" : pct(x / X - 1);
  };
  const at = `At c=${sweet.concurrency}: ${n3(X ?? NaN)} req/s, ${sloText(sweet)}.`;
  let why_text: string;
  switch (bound) {
    case "knee":
      why_text =
        `The knee caps it: c=${sweet.concurrency} is where throughput stops paying for concurrency. ${at}` +
        (hi > sweet.concurrency ? ` Up to c=${hi} the SLO still holds, for ${more(hi)} throughput.` : "") +
        (broken ? ` The SLO breaks at c=${broken.concurrency} (${why}).` : " The SLO held at every point.");
      break;
    case "slo":
      why_text = `The SLO caps it before the knee: at c=${broken!.concurrency}, ${why}. ${at}` +
        (knee.kind === "knee" ? ` (The knee is at c=${knee.concurrency}.)` : "");
      break;
    case "sweep_end":
      why_text = `Every valid point met the SLO and throughput kept growing: the sweet spot is at least ` +
        `c=${sweet.concurrency}; extend the sweep to find where it ends. ${at}`;
      break;
  }
  const range = lo < hi
    ? ` Range c=${lo}..${hi}: from c=${lo} throughput is at least ${
      (100 * opts.range_fraction).toFixed(0)
    }% ` +
      `of the throughput at the sweet spot.`
    : "";
  return {
    kind: "sweet_spot",
    concurrency: sweet.concurrency,
    throughput_rps: X,
    range: { lo, hi },
    slo_limit: limit.concurrency,
    bound,
    excluded,
    reason: `${why_text}${range} ${limits}${note}`,
  };
}

/** One aggregated point of the rate sweep. */
export interface BatchingRatePoint {
  target_rps: number;
  throughput_rps?: number;
  ttft_p95_ms?: number;
  tpot_p95_ms?: number;
  valid: boolean;
}

/** The highest offered Poisson rate meeting the SLO (from the lowest rate up). */
export type BatchingRateCapacity =
  | { kind: "capacity"; target_rps: number; broken_at_rps?: number; excluded: number[]; reason: string }
  | { kind: "none"; excluded: number[]; reason: string };

/**
 * The highest offered rate that meets the SLO, with every lower valid rate meeting it too.
 *
 * @example
 * ```ts
 * batchingRateAtSlo([{ target_rps: 50, ttft_p95_ms: 40, tpot_p95_ms: 5, valid: true }], { ttft_p95_ms: 200, tpot_p95_ms: 25 });
 * ```
 */
export function batchingRateAtSlo(
  points: readonly BatchingRatePoint[],
  slo: BatchingSlo,
): BatchingRateCapacity {
  const pts = points.filter((p) => p.valid).sort((a, b) => a.target_rps - b.target_rps);
  const excluded = points.filter((p) => !p.valid).map((p) => p.target_rps).sort((a, b) => a - b);
  const note = excluded.length ? ` Invalid rates left out: ${excluded.map(n3).join(", ")} req/s.` : "";
  if (pts.length === 0) return { kind: "none", excluded, reason: `No valid rate point.${note}` };
  const { limit, broken, why } = batchingSloPrefix(pts, slo);
  if (!limit) {
    return {
      kind: "none",
      excluded,
      reason: `Even the lowest rate (${n3(pts[0].target_rps)} req/s) breaks the SLO: ${why}.${note}`,
    };
  }
  return {
    kind: "capacity",
    target_rps: limit.target_rps,
    broken_at_rps: broken?.target_rps,
    excluded,
    reason: `Up to ${n3(limit.target_rps)} req/s of Poisson arrivals the SLO holds (${sloText(limit)})` +
      (broken
        ? `; at ${n3(broken.target_rps)} req/s it breaks (${why}).`
        : "; it held at every rate tested.") +
      note,
  };
}
