/**
 * What the embedded engine predicts for a kept run's Tier 2 points (the Tier contract's `beside`).
 * @module
 */
import { join } from "node:path";
import {
  besideConfig,
  besideMedian,
  type BesideOptions,
  type BesideRow,
  besideRow,
  besideRows,
  requestSeed,
  simulate,
  syntheticTokenIds,
  type WorkloadRequest,
} from "../../sim/mod.ts";
import { PREFIX_FILES } from "./files.ts";

// A stable 32-bit seed from a string (FNV-1a; lib/sim's per-request seed), one per shared-prefix family.
const seedOf = requestSeed;

/**
 * Tier 2 beside the embedded engine: each point and arm (caching off or on) replayed as the tier ran it: every
 * repeat on a fresh engine (the tier resets the cache between runs), its prime requests one at a time, then the
 * measured requests in a closed loop of the point's concurrency, each prompt made of its family's shared
 * prefix (when it shares one) and a suffix of its own, with the run's own prompt and output lengths. The
 * prediction is the median TTFT of the measured requests, pooled over repeats, beside the measured median.
 */
export function prefixBeside(dir: string, o: BesideOptions): BesideRow[] {
  const rows = besideRows(join(dir, PREFIX_FILES.requests)).filter((r) => r.endpoint === "completions");
  const runs = new Map<string, Record<string, string>[]>();
  for (const r of rows) {
    const key = `${r.point_id}\u0000${r.arm}\u0000${r.repeat}`;
    runs.set(key, [...(runs.get(key) ?? []), r]);
  }
  const pooled = new Map<string, { measured: number[]; predicted: number[] }>();
  let salt = 0;
  for (const [key, rs] of runs) {
    const [point, arm] = key.split("\u0000");
    const byIndex = (a: Record<string, string>, b: Record<string, string>) =>
      Number(a.index) - Number(b.index);
    const prime = rs.filter((r) => r.phase !== "measure").sort(byIndex);
    const measure = rs.filter((r) => r.phase === "measure").sort(byIndex);
    if (!measure.some((r) => r.ok === "true")) continue;
    const concurrency = Math.max(1, Number(measure[0].concurrency) || 1);
    const requests: WorkloadRequest[] = [...prime, ...measure].map((r) => {
      const prompt = Math.max(1, Number(r.prompt_tokens) || Number(r.prefix_tokens) || 1);
      const shared = r.shares_prefix === "true"
        ? Math.min(prompt, Math.max(0, Number(r.prefix_tokens) || 0))
        : 0;
      const prefix = syntheticTokenIds(shared, seedOf(`${r.family}/${r.prefix_variant}`));
      return {
        prompt_ids: prefix.concat(syntheticTokenIds(prompt - shared, seedOf(`${key}/${r.index}/${salt++}`))),
        max_tokens: Math.max(1, Number(r.completion_tokens) || 1),
        ignore_eos: true,
      };
    });
    const sim = simulate(
      besideConfig(o, arm === "on"),
      { requests, load: { kind: "concurrency", n: concurrency, prime: prime.length } },
      { cold: false, keep_token_times: false },
    );
    const p = pooled.get(`${point} ${arm}`) ?? { measured: [], predicted: [] };
    p.measured.push(...measure.filter((r) => r.ok === "true").map((r) => Number(r.ttft_ms)));
    p.predicted.push(...sim.records.slice(prime.length).map((r) => r.ttft_ms));
    pooled.set(`${point} ${arm}`, p);
  }
  return [...pooled].flatMap(([point, p]) =>
    besideRow(
      "prefix",
      point,
      "ttft_ms",
      p.measured.length,
      besideMedian(p.measured),
      besideMedian(p.predicted),
    )
  );
}
