/**
 * Per-request metrics derived from a `RequestRecord`: pure functions, one formula each, in ms unless the
 * name says otherwise. A metric that does not apply (a timestamp that never happened, a failed request,
 * too few tokens) is `undefined`, never 0.
 *
 * Timestamp differences (TTFT variants, queue delay) are defined whenever both timestamps exist, failed
 * requests included (a request dropped after its first token still had a TTFT). Metrics of a complete
 * response (E2E, TPOT, ITL variants, tok/s) need `ok`. Which tool calls what by which name:
 * shared/reference/peers.md §11.
 * @module
 */
import type { RequestRecord } from "../probe/types.ts";

const diff = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : a - b;

/**
 * Time to response headers: t_headers - t_send (ms).
 *
 * @example
 * ```ts
 * import { ttft_first_byte_ms } from "./request_metrics.ts";
 * ttft_first_byte_ms({ t_send_ms: 10, t_headers_ms: 12 } as never); // 2
 * ```
 */
export function ttft_first_byte_ms(r: RequestRecord): number | undefined {
  return diff(r.t_headers_ms, r.t_send_ms);
}

/** Time to the first SSE event of any kind: t_first_event - t_send (ms). Chat: usually the role chunk. */
export function ttft_first_event_ms(r: RequestRecord): number | undefined {
  return diff(r.t_first_event_ms, r.t_send_ms);
}

/** vLLM bench's TTFT: first event with non-empty choices - t_send (ms); chat's role chunk counts. */
export function ttft_first_choice_ms(r: RequestRecord): number | undefined {
  return diff(r.t_first_choice_ms, r.t_send_ms);
}

/**
 * The lab's headline TTFT: t_first_content - t_send (ms), first event with non-empty text.
 *
 * @example
 * ```ts
 * import { ttft_ms } from "./request_metrics.ts";
 * ttft_ms({ t_send_ms: 5, t_first_content_ms: 205 } as never); // 200
 * ```
 */
export function ttft_ms(r: RequestRecord): number | undefined {
  return diff(r.t_first_content_ms, r.t_send_ms);
}

/** TTFT including client queueing: t_first_content - t_intended (ms); what a user arriving on time sees. */
export function ttft_from_intended_ms(r: RequestRecord): number | undefined {
  return diff(r.t_first_content_ms, r.t_intended_ms);
}

/** Client queueing delay: t_send - t_intended (ms); coordinated omission made visible. */
export function queue_delay_ms(r: RequestRecord): number {
  return r.t_send_ms - r.t_intended_ms;
}

/** End-to-end latency of a complete response: t_end - t_send (ms); undefined for a failed request. */
export function e2e_ms(r: RequestRecord): number | undefined {
  return r.ok ? r.t_end_ms - r.t_send_ms : undefined;
}

/** End-to-end latency from the intended send: t_end - t_intended (ms); undefined for a failed request. */
export function e2e_from_intended_ms(r: RequestRecord): number | undefined {
  return r.ok ? r.t_end_ms - r.t_intended_ms : undefined;
}

/**
 * Inter-chunk gaps: chunk_ms[i] - chunk_ms[i-1] for i >= 1 (ms), one per content chunk after the first
 * (per chunk, which is per token at vLLM's default stream interval 1). Pool them over requests for
 * vLLM bench's ITL. Undefined with fewer than 2 content chunks.
 *
 * @example
 * ```ts
 * import { itl_ms } from "./request_metrics.ts";
 * itl_ms({ chunk_ms: [200, 210, 225] } as never); // [10, 15]
 * ```
 */
export function itl_ms(r: RequestRecord): number[] | undefined {
  const c = r.chunk_ms;
  if (c.length < 2) return undefined;
  const gaps = new Array<number>(c.length - 1);
  for (let i = 1; i < c.length; i++) gaps[i - 1] = c[i] - c[i - 1];
  return gaps;
}

/** Mean inter-chunk gap of one request: (last chunk - first chunk) / (chunks - 1) (ms). */
export function itl_mean_ms(r: RequestRecord): number | undefined {
  const c = r.chunk_ms;
  return c.length < 2 ? undefined : (c[c.length - 1] - c[0]) / (c.length - 1);
}

/** Largest inter-chunk gap of one request (ms): the stall a reader notices. */
export function itl_max_ms(r: RequestRecord): number | undefined {
  const gaps = itl_ms(r);
  return gaps === undefined ? undefined : Math.max(...gaps);
}

/**
 * vLLM's TPOT: (e2e - ttft) / (completion_tokens - 1) (ms/token), with the lab's ttft_ms (first content)
 * and e2e_ms; only for a complete response with completion_tokens > 1 reported by the server.
 *
 * @example
 * ```ts
 * import { tpot_ms } from "./request_metrics.ts";
 * tpot_ms({ ok: true, t_send_ms: 0, t_first_content_ms: 200, t_end_ms: 390, completion_tokens: 20 } as never); // 10
 * ```
 */
export function tpot_ms(r: RequestRecord): number | undefined {
  const e2e = e2e_ms(r);
  const ttft = ttft_ms(r);
  const out = r.completion_tokens;
  if (e2e === undefined || ttft === undefined || out === undefined || out <= 1) return undefined;
  return (e2e - ttft) / (out - 1);
}

/** GuideLLM's TPOT: (last chunk - t_send) / completion_tokens (ms/token); it includes the TTFT. */
export function tpot_guidellm_ms(r: RequestRecord): number | undefined {
  const out = r.completion_tokens;
  const last = r.chunk_ms.at(-1);
  if (!r.ok || last === undefined || out === undefined || out < 1) return undefined;
  return (last - r.t_send_ms) / out;
}

/** GuideLLM's ITL: (last chunk - first chunk) / (completion_tokens - 1) (ms/token); vLLM calls this TPOT. */
export function itl_guidellm_ms(r: RequestRecord): number | undefined {
  const out = r.completion_tokens;
  const first = r.chunk_ms[0];
  const last = r.chunk_ms.at(-1);
  if (!r.ok || first === undefined || last === undefined || out === undefined || out <= 1) return undefined;
  return (last - first) / (out - 1);
}

/** Output rate of one request: completion_tokens / (e2e_ms / 1000) (tokens/s). */
export function output_tok_s(r: RequestRecord): number | undefined {
  const e2e = e2e_ms(r);
  const out = r.completion_tokens;
  if (e2e === undefined || out === undefined || e2e <= 0) return undefined;
  return out / (e2e / 1000);
}

/** Decode rate after the first token: (completion_tokens - 1) / ((e2e - ttft) / 1000) (tokens/s). */
export function decode_tok_s(r: RequestRecord): number | undefined {
  const tpot = tpot_ms(r);
  return tpot === undefined || tpot <= 0 ? undefined : 1000 / tpot;
}

/** Share of prompt tokens served from the prefix cache: cached_tokens / prompt_tokens (0..1). */
export function cache_hit_fraction(r: RequestRecord): number | undefined {
  const { cached_tokens, prompt_tokens } = r;
  if (cached_tokens === undefined || prompt_tokens === undefined || prompt_tokens <= 0) return undefined;
  return cached_tokens / prompt_tokens;
}

/** A scalar per-request metric: its function, unit and one-line formula (for summaries and docs). */
export interface MetricDef {
  of: (r: RequestRecord) => number | undefined;
  unit: string;
  formula: string;
}

/** The scalar per-request metrics, in the order summaries list them. */
export const REQUEST_METRICS = {
  ttft_ms: { of: ttft_ms, unit: "ms", formula: "t_first_content - t_send" },
  ttft_first_byte_ms: { of: ttft_first_byte_ms, unit: "ms", formula: "t_headers - t_send" },
  ttft_first_event_ms: { of: ttft_first_event_ms, unit: "ms", formula: "t_first_event - t_send" },
  ttft_first_choice_ms: {
    of: ttft_first_choice_ms,
    unit: "ms",
    formula: "t_first_choice - t_send (vLLM bench)",
  },
  ttft_from_intended_ms: { of: ttft_from_intended_ms, unit: "ms", formula: "t_first_content - t_intended" },
  queue_delay_ms: { of: queue_delay_ms, unit: "ms", formula: "t_send - t_intended" },
  e2e_ms: { of: e2e_ms, unit: "ms", formula: "t_end - t_send" },
  e2e_from_intended_ms: { of: e2e_from_intended_ms, unit: "ms", formula: "t_end - t_intended" },
  tpot_ms: { of: tpot_ms, unit: "ms/token", formula: "(e2e - ttft) / (completion_tokens - 1) (vLLM)" },
  tpot_guidellm_ms: {
    of: tpot_guidellm_ms,
    unit: "ms/token",
    formula: "(last_chunk - t_send) / completion_tokens",
  },
  itl_guidellm_ms: {
    of: itl_guidellm_ms,
    unit: "ms/token",
    formula: "(last_chunk - first_chunk) / (completion_tokens - 1)",
  },
  itl_mean_ms: { of: itl_mean_ms, unit: "ms", formula: "(last_chunk - first_chunk) / (chunks - 1)" },
  itl_max_ms: { of: itl_max_ms, unit: "ms", formula: "max(chunk_ms[i] - chunk_ms[i-1])" },
  output_tok_s: { of: output_tok_s, unit: "tokens/s", formula: "completion_tokens / e2e_s" },
  decode_tok_s: { of: decode_tok_s, unit: "tokens/s", formula: "1000 / tpot_ms" },
  cache_hit_fraction: { of: cache_hit_fraction, unit: "fraction", formula: "cached_tokens / prompt_tokens" },
} as const satisfies Record<string, MetricDef>;

export type RequestMetricName = keyof typeof REQUEST_METRICS;
