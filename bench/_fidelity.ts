/**
 * The measurement half of bench/client_fidelity.ts: joins a client's per-request timings to the dial
 * server's ground truth and reduces them to error statistics.
 *
 * Error definitions (all client minus truth, ms; the two clocks are never compared, only differences on
 * each): TTFT error = (client first content - client send) - (server first token write - server arrival);
 * ITL error = client gap between successive content chunks - server gap between the matching writes;
 * TPOT error (peers that report one ITL per request) = client (last - first)/(n - 1) - the server's.
 * Server lateness = a token's write time - when the dial meant to write it (arrival + ttft + k * itl): a
 * server falling behind shows here, not in the client's error.
 * @module
 */
import { percentile } from "../lib/base/mod.ts";
import type { GroundTruth } from "../lib/probe/testing/mod.ts";

/** One request as a client measured it, in that client's own time base (ms). */
export interface ClientTiming {
  /** Key into the ground truth: request id (our probe, vllm bench) or prompt text (the rest). */
  key: string;
  /** Client send time to first content, ms. */
  ttft_ms?: number;
  /** Per-gap inter-chunk times, when the client records them. */
  itl_ms?: number[];
  /** One mean gap per request, when that is all the client reports (GuideLLM's and AIPerf's "ITL"). */
  tpot_ms?: number;
}

/** p50, p99, max of a sample (ms); undefined when empty. */
export interface Dist {
  n: number;
  p50?: number;
  p99?: number;
  max?: number;
}

/** A client's errors against the ground truth. */
export interface Errors {
  /** Requests joined to a ground-truth record / requests the client reported. */
  matched: number;
  reported: number;
  ttft: Dist;
  /** |ITL error| per gap (clients with per-chunk times). */
  itl: Dist;
  /** TPOT error per request (signed). */
  tpot: Dist;
}

/** Distribution of values. */
export function dist(xs: readonly number[]): Dist {
  if (xs.length === 0) return { n: 0 };
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max };
}

/** The dial's intended write time of token k (arrival + ttft + k * itl). */
function lateness(t: GroundTruth, ttft_ms: number, itl_ms: number): number[] {
  const first = t.arrival_ms + ttft_ms;
  return t.token_ms.map((w, k) => w - (first + k * itl_ms));
}

/** Server-side lateness of every token write of these requests. */
export function serverLateness(truths: readonly GroundTruth[], ttft_ms: number, itl_ms: number): Dist {
  return dist(truths.flatMap((t) => lateness(t, ttft_ms, itl_ms)));
}

/** The key a request is matched by: its prompt text (completions) or its x-request-id. */
export function promptKey(t: GroundTruth): string | undefined {
  const p = t.body.prompt;
  return typeof p === "string" ? p : undefined;
}

/**
 * Joins client timings to ground truth by key and returns the error statistics.
 *
 * @example
 * ```ts
 * const e = clientErrors([{ key: "a", ttft_ms: 51 }], new Map([["a", truth]]));
 * ```
 */
export function clientErrors(
  timings: readonly ClientTiming[],
  truth: ReadonlyMap<string, GroundTruth>,
): Errors {
  const ttft: number[] = [], itl: number[] = [], tpot: number[] = [];
  let matched = 0;
  for (const c of timings) {
    const t = truth.get(c.key);
    if (!t || t.first_token_ms === undefined) continue;
    matched++;
    if (c.ttft_ms !== undefined) ttft.push(c.ttft_ms - (t.first_token_ms - t.arrival_ms));
    const w = t.token_ms;
    if (c.itl_ms !== undefined && c.itl_ms.length === w.length - 1) {
      for (let i = 0; i < c.itl_ms.length; i++) itl.push(Math.abs(c.itl_ms[i] - (w[i + 1] - w[i])));
    }
    if (c.tpot_ms !== undefined && w.length > 1) {
      tpot.push(c.tpot_ms - (w[w.length - 1] - w[0]) / (w.length - 1));
    }
  }
  return { matched, reported: timings.length, ttft: dist(ttft), itl: dist(itl), tpot: dist(tpot) };
}

/** Formats a number of ms for a table cell. */
export function ms(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(digits);
}

/** A plain-text table, right-aligned (what the bench prints into its results file). */
export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (c ?? "").padStart(w[i])).join(" | ") + " |";
  return [line(headers), "|" + w.map((x) => "-".repeat(x + 1) + ":").join("|") + "|", ...rows.map(line)]
    .join("\n");
}
