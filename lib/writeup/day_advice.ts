/**
 * The day's own deliverables from a run's facts: the Feynman / consulting section (the seed's three points:
 * TTFT, prefix caching and KV scaling for a non-ML infra lead; a first-cut service; a health-check
 * dashboard), the write-up's answers to the seed's questions 19 and 20, and the 20 questions rendered.
 * An unmeasured value shows "not measured"; no advice branches on it.
 * @module
 */
import { SEED_CHECKS } from "../health/thresholds.ts";
import { codeText, h, type Html } from "../report/html.ts";
import type { AnyTier, SeedAnswer } from "../tiers/tier.ts";
import type { DerivedCheck, DerivedThresholds } from "./derive.ts";
import { seedAnswers } from "./questions.ts";
import { jsonPath, type RunData } from "./run_data.ts";
import type { RunFacts } from "./sections.ts";

/** The seed's five dashboard metrics in words, in the order of lib/health's SEED_CHECKS. */
const SEED_NAMES = ["TTFT (p95)", "p95 latency (end to end)", "tok/s (output)", "GPU util", "VRAM headroom"];

/** The seed's five dashboard metrics, in its order: the health check id and its name. */
export const SEED_DASHBOARD = SEED_CHECKS.map((id, i) => ({ id, name: SEED_NAMES[i] }));
const [TTFT_CHECK, E2E_CHECK, TOK_CHECK, UTIL_CHECK, HEADROOM_CHECK] = SEED_CHECKS;

const op = (o: string) => o === "<=" ? "at most" : "at least";

/** A check's threshold in words: its fact, or the generic default (in code: not a measurement). */
export function thresholdText(c: DerivedCheck | undefined): Html {
  if (!c) return h`<em>not a check of this lab</em>`;
  return c.fact ? h`${op(c.op)} ${c.fact}` : h`${op(c.op)} ${codeText(String(c.value))} (generic default)`;
}

/**
 * Whether caching should be on, from the data: on (vLLM's default) unless the longest shared prefix was
 * measured and not faster; the reason quotes the facts.
 */
export function cachingAdvice(f: RunFacts): { on: boolean; why: Html } {
  const p = f.prefix;
  if (!p.long?.speedup) {
    return { on: true, why: h`on, vLLM's default: the prefix tier's effect was not measured in this run` };
  }
  if (p.runs_client_bad && p.runs && p.runs_client_bad.value * 2 >= p.runs.value) {
    return {
      on: true,
      why:
        h`on, vLLM's default, not decided by this run: ${p.runs_client_bad} of its ${p.runs} prefix runs failed the client self-check (indicatively, requests sharing ${p.long_tokens} started ${p.long.speedup} faster)`,
    };
  }
  return p.long.speedup.value > 1
    ? {
      on: true,
      why:
        h`on: requests sharing ${p.long_tokens} started ${p.long.speedup} faster (hit rate ${p.long_hit_rate})`,
    }
    : { on: false, why: h`off: it did not speed up even the longest shared prefix (${p.long.speedup})` };
}

/** The Feynman / consulting deliverable: 2-4 paragraphs on the seed's three points. */
export function feynmanSection(data: RunData, f: RunFacts, d: DerivedThresholds): Html {
  const { ttft: t, prefix: p, kv: k, batching: b } = f;
  const model = typeof jsonPath(data.manifest, "model") === "string"
    ? String(jsonPath(data.manifest, "model"))
    : "the run's model";
  const caching = cachingAdvice(f);
  const byId = new Map(d.checks.map((c) => [c.id as string, c]));
  return h`<h2 id="wu-feynman">Feynman / Consulting Deliverable</h2>
<p><strong>TTFT, prefix caching and KV scaling, for an infra lead.</strong> Time to first token is how long a user waits before text starts to stream: the server reads the whole prompt in one pass (prefill), then writes the answer a token at a time. Warm, this server answered in ${t.warm_p50} (p50); the first request after a start took ${t.cold_p50}, so a readiness probe should send a warm-up request first. Prefix caching keeps the computed state of prompt beginnings it has seen, in whole blocks, so requests that start with the same long text skip that work: at ${p.long_tokens} shared, TTFT went from ${p.long?.off} to ${p.long?.on}. The KV cache is the memory holding every running conversation's context; vLLM reserves it once at startup (here a pool of ${
    k.rows[0]?.kv_tokens
  }, ${k.bytes_computed} per token), and max-model-len only decides how that pool is promised: longer allowed conversations, fewer at once (${
    k.rows[0]?.max_concurrency
  } at ${k.rows[0]?.max_model_len} against ${k.rows.at(-1)?.max_concurrency} at ${
    k.rows.at(-1)?.max_model_len
  }).</p>
<p><strong>A first-cut service on this node.</strong> Model ${
    codeText(model)
  }; max-model-len ${k.safe_len}, the largest length measured that still holds the concurrency target at full length; a concurrency target of ${b.target.concurrency} requests in flight per replica (the sweet spot: the highest concurrency meeting the SLO, capped at the knee; goodput's peak at ${b.ceiling} is the ceiling, not a target), where throughput was ${b.target.throughput_rps} and TTFT p95 ${b.target.ttft_p95_ms}; prefix caching ${caching.why}. More users means more replicas, not more requests per replica.</p>
<p><strong>The health-check dashboard.</strong> Five numbers, each with the threshold this run supports: TTFT p95 ${
    thresholdText(byId.get(TTFT_CHECK))
  }; p95 end-to-end latency ${thresholdText(byId.get(E2E_CHECK))}; output tok/s ${
    thresholdText(byId.get(TOK_CHECK))
  }; GPU utilisation ${
    thresholdText(byId.get(UTIL_CHECK))
  } (a fraction; nvidia-smi, or DCGM_FI_DEV_GPU_UTIL on the dashboard); VRAM headroom ${
    thresholdText(byId.get(HEADROOM_CHECK))
  }. Beside them, the server's queue (vllm:num_requests_waiting), KV usage and preemptions say why a number moved. ${
    codeText("./servelab health")
  } checks them against a live server; ${codeText("grafana-dashboard.json")} draws them.</p>`;
}

/**
 * The write-up's own answers to the seed's questions 19 (the dashboard) and 20 (the first-cut service).
 *
 * @example
 * ```ts
 * seedAnswers(TIERS, facts, { extra: writeupAnswers(data, facts, thresholds) });
 * ```
 */
export function writeupAnswers(data: RunData, f: RunFacts, d: DerivedThresholds): SeedAnswer[] {
  const { kv: k, batching: b } = f;
  const byId = new Map(d.checks.map((c) => [c.id as string, c]));
  const q19 = h`Five, the seed's: ${
    SEED_DASHBOARD.map((m, i) =>
      h`${i ? "; " : ""}<strong>${m.name}</strong> ${thresholdText(byId.get(m.id))}`
    )
  }. Worrying: TTFT p95 or end-to-end p95 past its threshold (queueing or a cold server), tok/s below its floor with requests waiting (stalled or saturated), GPU utilisation pinned near full while the queue grows (no headroom: add a replica) or near zero with requests waiting (the server is stuck elsewhere), VRAM headroom below its floor (the next allocation fails). ${
    d.generic
      ? h`This run gave no batching data, so these thresholds are lib/health's generic defaults.`
      : h`The thresholds come from this run's canary workload (thresholds.json); a real service would set them from its SLO.`
  }`;
  const caching = cachingAdvice(f);
  const model = typeof jsonPath(data.manifest, "model") === "string"
    ? String(jsonPath(data.manifest, "model"))
    : "the run's model";
  const q20 = h`Model ${
    codeText(model)
  }; max-model-len ${k.safe_len} (the largest measured that holds the concurrency target at full length); concurrency target ${b.target.concurrency} per replica (the sweet spot rule; goodput's peak ${b.ceiling} is the ceiling); prefix caching ${caching.why}; --gpu-memory-utilization ${k.util}, the share the KV sweep ran with. ${
    b.target.concurrency
      ? h`What would change it: a different SLO moves the concurrency target; longer real requests move max-model-len; traffic that shares no prefix makes caching irrelevant (it costs little either way).`
      : h`The concurrency target is not measured in this run, so max-model-len is not sized against it either: rerun the batching tier with valid points before fixing either.`
  }`;
  return [{ n: 19, answer: q19 }, { n: 20, answer: q20 }];
}

/** "Check Your Learning": the seed's 20 questions, numbered as in the seed, each answered from the data. */
export function questionsTemplate(
  tiers: readonly AnyTier[],
  f: RunFacts,
  extra: readonly SeedAnswer[],
): Html {
  const qs = seedAnswers(tiers, f, { extra });
  return h`<h2 id="wu-check-your-learning">Check Your Learning (the seed's questions)</h2><p>The seed's own questions, word for word and numbered as there, each answered from this run's facts; where an answer needs judgment it gives what the data support and what would change it.</p><ol>${
    qs.map((q) =>
      h`<li><p><strong><span class="seed">${q.text}</span></strong></p><div>${q.answer}</div></li>`
    )
  }</ol>`;
}
