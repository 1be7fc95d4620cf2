/**
 * Which server's metric names a `/metrics` page speaks: vLLM (`vllm:`), SGLang (`sglang:`), TGI (`tgi_`) or
 * llama.cpp (`llamacpp:`). The lab reads every family through the alias tables of vllm_metrics.ts (the lab's
 * names are vLLM's); this module only names the family, so the capability probe and the pages can say
 * "metrics: SGLang names, mapped to the lab's".
 * @module
 */
import type { PromFamilies } from "./prom_text.ts";

/** A server's metric naming. */
export type MetricFamily = "vllm" | "sglang" | "tgi" | "llamacpp";

/** Each family's name prefix and how a page names it. */
export const METRIC_FAMILIES: Readonly<Record<MetricFamily, { prefix: string; label: string }>> = {
  vllm: { prefix: "vllm:", label: "vLLM" },
  sglang: { prefix: "sglang:", label: "SGLang" },
  tgi: { prefix: "tgi_", label: "TGI" },
  llamacpp: { prefix: "llamacpp:", label: "llama.cpp" },
};

/**
 * The family most names belong to (ties: the order of {@link METRIC_FAMILIES}), or undefined when none does.
 *
 * @example
 * ```ts
 * familyOfNames(["sglang:token_usage", "process_cpu_seconds_total"]); // "sglang"
 * ```
 */
export function familyOfNames(names: Iterable<string>): MetricFamily | undefined {
  const counts = new Map<MetricFamily, number>();
  for (const n of names) {
    for (const [fam, { prefix }] of Object.entries(METRIC_FAMILIES) as [MetricFamily, { prefix: string }][]) {
      if (n.startsWith(prefix)) counts.set(fam, (counts.get(fam) ?? 0) + 1);
    }
  }
  let best: MetricFamily | undefined;
  for (const fam of Object.keys(METRIC_FAMILIES) as MetricFamily[]) {
    if ((counts.get(fam) ?? 0) > (best ? counts.get(best)! : 0)) best = fam;
  }
  return best;
}

/**
 * The family of a parsed `/metrics` page.
 *
 * @example
 * ```ts
 * metricFamily(parsePrometheusText("tgi_queue_size 0\n")); // "tgi"
 * ```
 */
export function metricFamily(families: PromFamilies): MetricFamily | undefined {
  return familyOfNames(families.keys());
}
