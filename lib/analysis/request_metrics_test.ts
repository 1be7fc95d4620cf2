import assert from "node:assert/strict";
import type { RequestRecord } from "../probe/types.ts";
import {
  cache_hit_fraction,
  decode_tok_s,
  e2e_from_intended_ms,
  e2e_ms,
  itl_guidellm_ms,
  itl_max_ms,
  itl_mean_ms,
  itl_ms,
  output_tok_s,
  queue_delay_ms,
  REQUEST_METRICS,
  tpot_guidellm_ms,
  tpot_ms,
  ttft_first_byte_ms,
  ttft_first_choice_ms,
  ttft_first_event_ms,
  ttft_from_intended_ms,
  ttft_ms,
} from "./request_metrics.ts";

/** A hand-made chat record: intended 90, sent 100, headers 102, role chunk 300, content 301, 311, 331, end 335. */
const rec: RequestRecord = {
  request_id: "r",
  endpoint: "chat",
  ok: true,
  http_status: 200,
  t_intended_ms: 90,
  t_send_ms: 100,
  t_headers_ms: 102,
  t_first_event_ms: 300,
  t_first_choice_ms: 300,
  t_first_content_ms: 301,
  chunk_ms: [301, 311, 331],
  t_end_ms: 335,
  prompt_tokens: 64,
  completion_tokens: 3,
  cached_tokens: 48,
  output_chars: 9,
};

Deno.test("TTFT variants and queue delay are the documented timestamp differences", () => {
  assert.equal(ttft_first_byte_ms(rec), 2);
  assert.equal(ttft_first_event_ms(rec), 200);
  assert.equal(ttft_first_choice_ms(rec), 200, "vLLM bench counts the role chunk");
  assert.equal(ttft_ms(rec), 201, "the lab's TTFT waits for content");
  assert.equal(ttft_from_intended_ms(rec), 211);
  assert.equal(queue_delay_ms(rec), 10);
});

Deno.test("E2E, ITL and TPOT follow vLLM's definitions; GuideLLM's are named as such", () => {
  assert.equal(e2e_ms(rec), 235);
  assert.equal(e2e_from_intended_ms(rec), 245);
  assert.deepEqual(itl_ms(rec), [10, 20]);
  assert.equal(itl_mean_ms(rec), 15);
  assert.equal(itl_max_ms(rec), 20);
  // vLLM TPOT = (e2e - ttft) / (out - 1) = (235 - 201) / 2
  assert.equal(tpot_ms(rec), 17);
  // GuideLLM TPOT = (last - send) / out = (331 - 100) / 3
  assert.equal(tpot_guidellm_ms(rec), 77);
  // GuideLLM ITL = (last - first) / (out - 1) = (331 - 301) / 2
  assert.equal(itl_guidellm_ms(rec), 15);
  assert.equal(output_tok_s(rec), 3 / 0.235);
  assert.equal(decode_tok_s(rec), 1000 / 17);
  assert.equal(cache_hit_fraction(rec), 0.75);
});

Deno.test("metrics that do not apply are undefined, never 0", () => {
  const one: RequestRecord = { ...rec, chunk_ms: [301], completion_tokens: 1, t_end_ms: 302 };
  assert.equal(tpot_ms(one), undefined, "TPOT needs completion_tokens > 1");
  assert.equal(itl_guidellm_ms(one), undefined);
  assert.equal(itl_ms(one), undefined);
  assert.equal(itl_mean_ms(one), undefined);
  assert.equal(itl_max_ms(one), undefined);
  assert.equal(tpot_guidellm_ms(one), 201);

  const noUsage: RequestRecord = { ...rec, completion_tokens: undefined, cached_tokens: undefined };
  assert.equal(tpot_ms(noUsage), undefined, "no server token count: no TPOT");
  assert.equal(output_tok_s(noUsage), undefined);
  assert.equal(cache_hit_fraction(noUsage), undefined);

  const failed: RequestRecord = {
    ...rec,
    ok: false,
    error_kind: "connection",
    t_first_event_ms: undefined,
    t_first_choice_ms: undefined,
    t_first_content_ms: undefined,
    t_headers_ms: undefined,
    chunk_ms: [],
    t_end_ms: 150,
  };
  for (const [name, def] of Object.entries(REQUEST_METRICS)) {
    if (name === "queue_delay_ms") continue;
    if (name === "cache_hit_fraction") continue;
    assert.equal(def.of(failed), undefined, `${name} of a failed request`);
  }
  assert.equal(queue_delay_ms(failed), 10, "queue delay is defined for every sent request");

  // A request dropped after its first token still had a TTFT, but no E2E.
  const dropped: RequestRecord = { ...rec, ok: false, error_kind: "connection", chunk_ms: [301, 311] };
  assert.equal(ttft_ms(dropped), 201);
  assert.equal(e2e_ms(dropped), undefined);
  assert.equal(tpot_ms(dropped), undefined);
});

Deno.test("every metric declares a formula and its unit is in its name", () => {
  const suffix: Record<string, string> = {
    "ms": "_ms",
    "ms/token": "_ms",
    "tokens/s": "_tok_s",
    "fraction": "_fraction",
  };
  for (const [name, def] of Object.entries(REQUEST_METRICS)) {
    assert.ok(def.formula.length > 0, name);
    assert.ok(name.endsWith(suffix[def.unit]), `${name} (${def.unit})`);
  }
});
