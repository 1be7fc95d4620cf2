/**
 * The write-up's advice, from the run's facts: the explanation for a non-ML infra lead, a first-cut service
 * config with a reason per value, rules of thumb, the health thresholds, and the learning questions.
 * @module
 */
import { codeText, h, type Html, htmlList, htmlTable } from "../report/html.ts";
import type { BatchingFacts } from "../tiers/mod.ts";
import { prefixUnsharedText } from "../tiers/prefix/questions.ts";
import { cachingAdvice } from "./day_advice.ts";

/** Memory was the limit when KV usage came near full or requests were preempted; undefined when KV usage was
 * not measured (then no statement about memory is made). */
export function memoryBound(b: BatchingFacts): boolean | undefined {
  if (!b.kv_usage_max) return undefined;
  return b.kv_usage_max.value >= 0.9 || (b.preemptions?.value ?? 0) > 0;
}

/** What memory did in the batching sweep, in words: limit, not the limit, or not measured. */
export function memoryText(b: BatchingFacts): Html {
  const bound = memoryBound(b);
  return bound === undefined
    ? h`KV usage was not measured (no valid point reported it), so this run says nothing about memory as a limit`
    : bound
    ? h`KV usage peaked at ${b.kv_usage_max} with up to ${b.preemptions} preemptions per point, so memory was a limit`
    : h`memory was not the limit (KV usage peaked at ${b.kv_usage_max}, preemptions per point at most ${b.preemptions}): compute and the step's token budget were`;
}

import type { DerivedThresholds } from "./derive.ts";
import type { RunFacts } from "./sections.ts";
import { jsonPath, type RunData } from "./run_data.ts";

/** A first-cut service config: model, max-model-len, concurrency target, prefix caching, memory share. */
export function serviceConfigSection(data: RunData, f: RunFacts): Html {
  const { kv: k, batching: b } = f;
  const model = typeof jsonPath(data.manifest, "model") === "string"
    ? String(jsonPath(data.manifest, "model"))
    : "the run's model";
  const caching = cachingAdvice(f);
  return h`<h2 id="wu-first-cut-service-config">First-cut service config</h2>${
    htmlTable(["setting", "value", "why"], [
      [codeText("model"), model, "the model this run measured"],
      [
        codeText("--max-model-len"),
        k.safe_len,
        h`the largest length measured that still holds the concurrency target at full length (${k.safe_len_concurrency} requests)`,
      ],
      [
        "concurrency target (max in flight per replica)",
        b.target.concurrency,
        h`the sweet spot: the highest concurrency meeting the SLO, capped at the knee (${b.target.throughput_rps} with TTFT p95 ${b.target.ttft_p95_ms} and TPOT p95 ${b.target.tpot_p95_ms}); goodput's peak at ${b.ceiling} is the ceiling, not a target`,
      ],
      [
        codeText("--enable-prefix-caching"),
        caching.on ? "on" : "off",
        caching.why,
      ],
      [
        codeText("--gpu-memory-utilization"),
        k.util,
        h`the share the sweep ran with; the pool it gave (${
          k.rows[0]?.kv_tokens
        }) already holds the target at that length`,
      ],
    ])
  }`;
}

/** Three to five rules of thumb, each quoting the run. */
export function rulesSection(f: RunFacts): Html {
  const { ttft: t, prefix: p, kv: k, batching: b } = f;
  return h`<h2 id="wu-rules-of-thumb">Rules of thumb</h2>${
    htmlList([
      h`Warm the server before it takes traffic: the first request was ${t.cold_warm} slower than warm ones.`,
      h`Put the shared text first and keep it byte-identical: a long shared prefix made TTFT ${p.long?.speedup} faster; ${
        prefixUnsharedText(p.share_none, p.share_none_hit)
      }.`,
      k.safe_len
        ? h`Size max-model-len to the longest request you serve, not the model's maximum: it costs concurrency (${k.safe_len_concurrency} full-length requests at ${k.safe_len}), not memory.`
        : h`Size max-model-len to the longest request you serve, not the model's maximum: it costs concurrency, not memory (the pool was ${
          k.rows[0]?.kv_tokens
        } at ${k.rows[0]?.max_model_len} and ${k.rows.at(-1)?.kv_tokens} at ${
          k.rows.at(-1)?.max_model_len
        }, holding ${k.rows[0]?.max_concurrency} and ${
          k.rows.at(-1)?.max_concurrency
        } full-length requests).`,
      b.target.concurrency
        ? h`Cap concurrency per replica at the sweet spot (${b.target.concurrency}: the highest concurrency meeting the SLO, capped at the knee); goodput's peak (${b.ceiling}) is the ceiling, and at ${b.top.concurrency} throughput was ${b.top.throughput_rps} against ${b.target.throughput_rps} while TTFT p95 reached ${b.top.ttft_p95_ms}.`
        : h`Take the concurrency cap from a sweep whose points are valid: this run's concurrency target is not measured (${b.invalid_points} of ${b.rows} point repeats invalid), so it gives no number to cap at.`,
      h`Watch five numbers, each with its threshold (thresholds.json): TTFT p95, end-to-end p95, output tok/s, GPU utilisation and VRAM headroom; the queue, KV usage and preemptions say why one moved.`,
    ], true)
  }`;
}

/** The health thresholds derived from the run, with the files written. */
export function thresholdsSection(d: DerivedThresholds): Html {
  const op = (o: string) => o === "<=" ? "at most" : "at least";
  return h`<h2 id="wu-health-checks-and-thresholds">Health checks and thresholds</h2><p>${
    d.generic
      ? "The batching tier left no data: the thresholds file holds lib/health's generic defaults."
      : h`Derived from this run. The canary sends ${d.canary.requests} requests at concurrency ${d.canary.concurrency}, prompts of ${d.canary.prompt_tokens} and up to ${d.canary.max_tokens} each (the batching workload).`
  } Check a server with ${codeText("./servelab health --url URL --thresholds thresholds.json")}; ${
    codeText("grafana-dashboard.json")
  } shows the same checks on vLLM's metric names.</p>${
    htmlTable(
      ["check", "threshold", "why"],
      d.checks.map((
        c,
      ) => [
        codeText(c.id),
        c.fact ? h`${op(c.op)} ${c.fact}` : h`${op(c.op)} ${codeText(String(c.value))} (default)`,
        c.why,
      ]),
    )
  }`;
}
