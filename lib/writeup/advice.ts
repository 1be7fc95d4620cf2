/**
 * The write-up's advice, from the run's facts: the explanation for a non-ML infra lead, a first-cut service
 * config with a reason per value, rules of thumb, the health thresholds, and the learning questions.
 * @module
 */
import type { Fact } from "../report/fact.ts";
import { codeText, h, type Html, htmlList, htmlTable } from "../report/html.ts";
import type { BatchingFacts } from "../tiers/mod.ts";

/** Memory was the limit when KV usage came near full or requests were preempted. */
function memoryBound(b: BatchingFacts): boolean | undefined {
  if (!b.kv_usage_max) return undefined;
  return b.kv_usage_max.value >= 0.9 || (b.preemptions?.value ?? 0) > 0;
}

/** "gives nothing" when caching left unshared traffic within a tenth of its speed, else what it did. */
function unsharedText(speedup: Fact | undefined): Html {
  if (!speedup) return h`(not measured)`;
  return Math.abs(speedup.value - 1) <= 0.1
    ? h`gives nothing to traffic that shares no prefix (${speedup})`
    : h`changed traffic that shares no prefix by ${speedup}`;
}
import type { DerivedThresholds } from "./derive.ts";
import type { RunFacts } from "./sections.ts";
import { jsonPath, type RunData } from "./run_data.ts";

/** The explanation for an infra lead who is not an ML person, quoting the run. */
export function explainerSection(f: RunFacts): Html {
  const { ttft: t, prefix: p, kv: k, batching: b } = f;
  return h`<h2 id="wu-for-an-infra-lead">For an infra lead</h2>
<p><strong>Time to first token (TTFT)</strong> is how long a user waits before text starts to stream. The server first reads the whole prompt in one pass (the "prefill"), then writes the answer one token at a time. Here a warm server answered in ${t.warm_p50} (p50) and ${t.warm_p95} (p95); the very first request after a start took ${t.cold_p50}, so put a warm-up request in the readiness probe before the server takes traffic. Under load TTFT grows because requests wait for a slot: at the concurrency target of ${b.target.concurrency} its p95 was ${b.target.ttft_p95_ms}.</p>
<p><strong>Prefix caching</strong> keeps the prompt's already-computed state (the KV cache) for prompt starts it has seen, in whole blocks. Requests that begin with the same long text (a system prompt, a document asked several questions) skip that part of the prefill: at ${p.long_tokens} of shared prefix TTFT went from ${p.long?.off} to ${p.long?.on}. It ${
    unsharedText(p.share_none?.speedup)
  }.</p>
<p><strong>KV cache and max-model-len.</strong> At startup vLLM takes a fixed share of GPU memory and cuts what is left after the weights into a pool of KV cache (here ${
    k.rows[0]?.kv_tokens
  }). Each token of each running request holds ${k.bytes_measured} of it. <code>--max-model-len</code> does not change that memory: it caps the longest request, and so how many full-length requests can run at once (at ${k.safe_len}: ${k.safe_len_concurrency}). Batching more requests together raised throughput from ${b.one.throughput_rps} at concurrency ${b.one.concurrency} to ${b.target.throughput_rps} at ${b.target.concurrency} (${b.gain}); ${
    memoryBound(b) === false
      ? h`memory was not the limit (KV usage peaked at ${b.kv_usage_max}, preemptions per point at most ${b.preemptions}): compute and the step's token budget were`
      : h`KV usage peaked at ${b.kv_usage_max} with up to ${b.preemptions} preemptions per point, so memory was a limit`
  }.</p>`;
}

/** A first-cut service config: model, max-model-len, concurrency target, prefix caching, memory share. */
export function serviceConfigSection(data: RunData, f: RunFacts): Html {
  const { prefix: p, kv: k, batching: b } = f;
  const model = typeof jsonPath(data.manifest, "model") === "string"
    ? String(jsonPath(data.manifest, "model"))
    : "the run's model";
  const caching = p.long?.speedup
    ? p.long.speedup.value > 1
      ? h`on: requests sharing a long prefix started ${p.long.speedup} faster; unshared traffic: ${p.share_none?.speedup}`
      : h`off: it did not speed up even the longest shared prefix (${p.long.speedup})`
    : h`on (vLLM's default): the prefix tier left no data to judge`;
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
        h`where goodput peaked: ${b.target.throughput_rps} with TTFT p95 ${b.target.ttft_p95_ms} and TPOT p95 ${b.target.tpot_p95_ms}`,
      ],
      [
        codeText("--enable-prefix-caching"),
        p.long?.speedup && p.long.speedup.value <= 1 ? "off" : "on",
        caching,
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
      h`Put the shared text first and keep it byte-identical: a long shared prefix made TTFT ${p.long?.speedup} faster; unique prompts gain nothing (${p.share_none?.speedup}).`,
      h`Size max-model-len to the longest request you serve, not the model's maximum: it costs concurrency (${k.safe_len_concurrency} full-length requests at ${k.safe_len}), not memory.`,
      h`Cap concurrency per replica near the goodput peak (${b.target.concurrency}); at ${b.top.concurrency} throughput was ${b.top.throughput_rps} against ${b.target.throughput_rps} while TTFT p95 reached ${b.top.ttft_p95_ms}.`,
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

/** The twenty learning questions of the day (not written elsewhere in the project; servelab's own list). */
export function questionsSection(f: RunFacts): Html {
  const { ttft: t, prefix: p, kv: k, batching: b } = f;
  const judge = (why: string) => h`<em>Needs judgment:</em> ${why}`;
  const qa: [string, Html][] = [
    [
      "How long does a user wait for the first token on a warm server?",
      h`${t.warm_p50} p50, ${t.warm_p95} p95.`,
    ],
    [
      "How much slower is the first request after a start?",
      h`${t.cold_p50} against ${t.warm_p50}: ${t.cold_warm}.`,
    ],
    [
      "How long does the engine take from launch to ready?",
      h`${t.ready_s} on this machine's clock; weights load ${t.weights_load_s} in the engine's log.`,
    ],
    [
      "Does TTFT come back after the server sits idle?",
      h`The first requests after idle took up to ${t.idle_max} (${t.idle_factor} the warm p50).`,
    ],
    [
      "How does TTFT grow with the prompt?",
      h`${t.len_min_p50} at ${t.len_min}, ${t.len_max_p50} at ${t.len_max} (${t.len_factor}).`,
    ],
    [
      "How much does prefix caching cut TTFT for a long shared prefix?",
      h`${p.long?.off} to ${p.long?.on} at ${p.long_tokens} (${p.long?.speedup}).`,
    ],
    ["Is the cache actually hit?", h`The hit rate at the longest prefix was ${p.long_hit_rate}.`],
    [
      "When does prefix caching not help?",
      h`Below a block (${p.short?.speedup} at ${p.short_tokens}) and for unshared traffic (${p.share_none?.speedup}).`,
    ],
    [
      "What happens when the prefixes outgrow the cache?",
      h`Hit rate ${p.cliff_fits_hit} at ${p.cliff_fits} the pool, ${p.cliff_over_hit} at ${p.cliff_over}: a cliff.`,
    ],
    [
      "Should prefix caching be on in production?",
      judge(
        "it depends on how much of your real traffic shares a long prefix, which this run cannot know; the numbers above give the win per shared request.",
      ),
    ],
    ["How big is the KV cache pool?", h`${k.rows[0]?.kv_tokens} at the smallest max-model-len tried.`],
    [
      "How many bytes does one token of KV cache take?",
      h`${k.bytes_measured} measured, ${k.bytes_computed} from the model's shape.`,
    ],
    [
      "Does max-model-len change the GPU memory taken?",
      h`${k.rows[0]?.gpu_mem_gib} at ${k.rows[0]?.max_model_len} and ${k.rows.at(-1)?.gpu_mem_gib} at ${
        k.rows.at(-1)?.max_model_len
      }.`,
    ],
    [
      "How many full-length requests fit at once?",
      h`${k.rows[0]?.max_concurrency} at ${k.rows[0]?.max_model_len}, ${k.rows.at(-1)?.max_concurrency} at ${
        k.rows.at(-1)?.max_model_len
      }.`,
    ],
    [
      "Which configurations refuse to start?",
      h`${k.not_started} of the sweep did, with vLLM's fit error recorded as a row.`,
    ],
    [
      "What does batching buy in throughput?",
      h`${b.one.throughput_rps} at concurrency ${b.one.concurrency}, ${b.target.throughput_rps} at ${b.target.concurrency} (${b.gain}).`,
    ],
    [
      "Where does more concurrency stop paying?",
      h`Goodput peaked at concurrency ${b.target.concurrency}; at ${b.top.concurrency} throughput was ${b.top.throughput_rps} with TTFT p95 ${b.top.ttft_p95_ms}.`,
    ],
    [
      "Was memory or compute the limit?",
      h`KV usage peaked at ${b.kv_usage_max} with at most ${b.preemptions} preemptions per point: compute, on this engine.`,
    ],
    [
      "What SLO should the service promise?",
      judge("an SLO is a product decision; the thresholds below are what this run sustained, with headroom."),
    ],
    [
      "Will these numbers hold on the production GPU and traffic?",
      judge("only a run on that GPU with that traffic says so; a SIMULATED run shows behaviour, not speed."),
    ],
  ];
  return h`<h2 id="wu-the-learning-questions">The learning questions</h2><p>The project lists no questions of its own, so these are servelab's: each is answered from this run's data, or marked as needing judgment.</p>${
    htmlList(qa.map(([q, a]) => h`<strong>${q}</strong> ${a}`), true)
  }`;
}
