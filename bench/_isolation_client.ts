/**
 * The load client of bench/cpu_isolation.ts, run as its own process so the bench can give it a CPU set (or
 * not): one closed-loop point of the lab's own load generator (`runLoad`, socket transport, its self-check at
 * the batching tier's 15 ms lag limit) against URL, then one JSON line: the client's event-loop lag p99, its
 * verdict, the request failures, throughput and TTFT p50.
 *
 *   deno run -A bench/_isolation_client.ts URL MODEL CONCURRENCY REQUESTS PROMPT_TOKENS MAX_TOKENS SEED
 * @module
 */
import { runLoad } from "../lib/probe/mod.ts";

const [url, model, cArg, nArg, pArg, mArg, sArg] = Deno.args;
const c = Number(cArg), n = Number(nArg), promptTokens = Number(pArg), maxTokens = Number(mArg);
const seed = Number(sArg ?? "0");
if (!url || !model || !(c > 0) || !(n > 0) || !(promptTokens > 0) || !(maxTokens > 0)) {
  console.error("Usage: _isolation_client.ts URL MODEL CONCURRENCY REQUESTS PROMPT_TOKENS MAX_TOKENS [SEED]");
  Deno.exit(2);
}
// Distinct token-id prompts (no prefix-cache hits) inside a 512-token vocabulary (the tiny model's).
const prompt = (i: number) =>
  Array.from({ length: promptTokens }, (_, j) => 3 + ((seed * 7919 + i * 104_729 + j * 31) % 500));
const r = await runLoad(
  url,
  (i) => ({ endpoint: "completions", model, prompt: prompt(i), max_tokens: maxTokens, ignore_eos: true }),
  { kind: "concurrency", n: c },
  { count: n, warmup: c, max_lag_p99_ms: 15, timeout_ms: 120_000 },
);
const measured = r.records.filter((x) => x.phase !== "warmup");
const ok = measured.filter((x) => x.ok);
const ttft = ok.map((x) => (x.t_first_choice_ms ?? x.t_first_event_ms ?? NaN) - x.t_send_ms)
  .filter(Number.isFinite).sort((a, b) => a - b);
const t0 = Math.min(...measured.map((x) => x.t_send_ms));
const t1 = Math.max(...ok.map((x) => x.t_end_ms ?? x.t_send_ms));
console.log(JSON.stringify({
  lag_p99_ms: r.self_check.event_loop_lag.p99_ms,
  client_ok: r.self_check.client_ok,
  failed: measured.length - ok.length,
  requests: measured.length,
  throughput_rps: ok.length / ((t1 - t0) / 1000),
  ttft_p50_ms: ttft.length ? ttft[Math.floor((ttft.length - 1) / 2)] : undefined,
}));
