/**
 * What the run recommends: the health thresholds (a `servelab.thresholds/1` file) derived from the
 * tiers' measurements, each derived value a fact.
 * @module
 */
import { CHECK_UNITS, type CheckId, defaultThresholds, type Thresholds } from "../health/thresholds.ts";
import type { Fact } from "../report/fact.ts";
import type { FactBook } from "../report/fact_book.ts";
import type { AnyTier } from "../tiers/tier.ts";

/** One derived check: its threshold fact (undefined: the generic default is kept) and why. */
export interface DerivedCheck {
  id: CheckId;
  op: "<=" | ">=";
  fact?: Fact;
  /** The value written (the fact's, or the generic default's). */
  value: number;
  why: string;
}

/** The derived thresholds: the file's content, and each check with its fact. */
export interface DerivedThresholds {
  thresholds: Thresholds;
  checks: DerivedCheck[];
  canary: { concurrency?: Fact; prompt_tokens?: Fact; max_tokens?: Fact; requests?: Fact };
  /** True when the batching tier gave no data and the file holds the generic defaults. */
  generic: boolean;
}

/**
 * Derives the health thresholds from the run: each tier's {@link HealthContribution} (today Tier 3b's: the
 * canary's workload and the latency, throughput, error, queue and preemption checks), merged in the tiers'
 * order; what no tier measures keeps lib/health's generic default.
 *
 * @example
 * ```ts
 * const d = deriveThresholds(TIERS, book, facts, { run_id, engine_label, simulated: true, model });
 * await Deno.writeTextFile("thresholds.json", thresholdsJson(d.thresholds));
 * ```
 */
export function deriveThresholds(
  tiers: readonly AnyTier[],
  b: FactBook,
  facts: Readonly<Record<string, unknown>>,
  from: NonNullable<Thresholds["derived_from"]>,
): DerivedThresholds {
  const defaults = defaultThresholds();
  const canary: DerivedThresholds["canary"] = {};
  const derived: Partial<Record<CheckId, { fact?: Fact; why: string }>> = {};
  for (const t of tiers) {
    const h = t.health?.(b, facts[t.key]);
    if (!h) continue;
    for (const [k, v] of Object.entries(h.canary ?? {}) as [keyof typeof canary, Fact | undefined][]) {
      if (v && !canary[k]) canary[k] = v;
    }
    for (const [id, x] of Object.entries(h.checks ?? {}) as [CheckId, { fact?: Fact; why: string }][]) {
      if (x.fact && !derived[id]?.fact) derived[id] = x;
    }
  }
  const checks: DerivedCheck[] = defaults.checks.map((d) => {
    const x = derived[d.id];
    return x?.fact ? { id: d.id, op: d.op, fact: x.fact, value: x.fact.value, why: x.why } : {
      id: d.id,
      op: d.op,
      value: d.value,
      why: "generic default of lib/health: this run does not measure it",
    };
  });
  const generic = !canary.concurrency;
  const thresholds: Thresholds = {
    schema: "servelab.thresholds/1",
    derived_from: from,
    canary: {
      concurrency: canary.concurrency?.value ?? defaults.canary.concurrency,
      requests: canary.requests?.value ?? defaults.canary.requests,
      prompt_tokens: canary.prompt_tokens?.value ?? defaults.canary.prompt_tokens,
      max_tokens: canary.max_tokens?.value ?? defaults.canary.max_tokens,
      timeout_s: defaults.canary.timeout_s,
    },
    checks: checks.map((k) => ({ id: k.id, op: k.op, value: k.value, unit: CHECK_UNITS[k.id], why: k.why })),
  };
  return { thresholds, checks, canary, generic };
}
