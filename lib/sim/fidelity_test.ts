/**
 * The two faces agree: a workload sent to the real-time server over loopback gives the same per-request
 * token counts and cached tokens as `simulate()` given the same arrivals, and the same TTFT within a timer
 * tolerance (the server's own ground truth, so client and network time are not in the comparison).
 */
import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import type { GroundTruth } from "./runtime.ts";
import { serveSim } from "./server.ts";
import { simulate, type WorkloadRequest } from "./simulate.ts";
import { syntheticTokenIds } from "./tokenizer.ts";

/** Typical timer lateness of the server's writes on a busy 2-core machine (the median, not the worst). */
const MEDIAN_TTFT_TOLERANCE_MS = 3;

Deno.test("the server and simulate() give the same records for the same arrivals", async () => {
  const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
  // A generous catch-up keeps the server's timeline exact through a scheduling hiccup of the machine.
  await using srv = await serveSim(cfg, { port: 0, env: {}, catch_up_ms: 2000 });
  const prefix = syntheticTokenIds(1024, 11);
  const reqs: WorkloadRequest[] = Array.from({ length: 12 }, (_, i) => ({
    id: `cmpl-fid-${i}`,
    prompt_ids: i % 3 === 2
      ? syntheticTokenIds(300 + 40 * i, 100 + i)
      : [...prefix, ...syntheticTokenIds(20 + i, i)],
    max_tokens: 12 + 3 * i,
    ignore_eos: i % 2 === 0,
  }));
  const send = async (r: WorkloadRequest, i: number) => {
    await new Promise((res) => setTimeout(res, 25 * i));
    const resp = await fetch(`${srv.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": `fid-${i}` },
      body: JSON.stringify({
        prompt: r.prompt_ids,
        max_tokens: r.max_tokens,
        ignore_eos: r.ignore_eos,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const text = await resp.text();
    const chunks = text.split("\n\n").filter((e) => e.startsWith("data: {"));
    return JSON.parse(chunks.at(-1)!.slice(6)).usage;
  };
  const usages = await Promise.all(reqs.map(send));
  const truth: GroundTruth[] = reqs.map((r) => srv.sim.runtime.groundTruth(r.id!)!);
  const t0 = truth[0].arrival_ms;

  const sim = simulate(cfg, {
    requests: reqs.map((r, i) => ({ ...r, send_ms: truth[i].arrival_ms - t0 })),
    load: { kind: "schedule" },
  });
  const concurrent = Math.max(...sim.series.map((s) => s.running));
  assert.ok(concurrent >= 2, "the workload batches requests");
  assert.ok(sim.records.some((r) => r.cached_tokens > 0), "the workload hits the prefix cache");
  assert.ok(sim.records.some((r) => r.finish_reason === "stop"), "some requests stop on EOS");

  const errors: number[] = [];
  reqs.forEach((r, i) => {
    const s = sim.records[i], gt = truth[i];
    assert.equal(usages[i].completion_tokens, s.completion_tokens, `${r.id} completion tokens`);
    assert.equal(usages[i].prompt_tokens, s.prompt_tokens, `${r.id} prompt tokens`);
    assert.equal(usages[i].prompt_tokens_details.cached_tokens, s.cached_tokens, `${r.id} cached tokens`);
    assert.equal(gt.token_ms.length, s.completion_tokens);
    // The simulated timeline is the same: the server's engine produced the first token when simulate() did.
    const scheduled = gt.first_token_scheduled_ms! - gt.arrival_ms;
    assert.ok(Math.abs(scheduled - s.ttft_ms) < 1e-3, `${r.id}: scheduled TTFT ${scheduled} vs ${s.ttft_ms}`);
    // What the client can see differs only by the server's lateness in writing it.
    const ttft = gt.first_token_ms! - gt.arrival_ms;
    errors.push(ttft - s.ttft_ms);
    assert.ok(ttft - s.ttft_ms > -1e-3, `${r.id}: written before its simulated time`);
    assert.ok(
      ttft - s.ttft_ms <= gt.max_lateness_ms! + 1e-3,
      `${r.id}: TTFT error beyond the recorded lateness`,
    );
  });
  const median = errors.sort((a, b) => a - b)[Math.floor(errors.length / 2)];
  assert.ok(median <= MEDIAN_TTFT_TOLERANCE_MS, `median TTFT error ${median.toFixed(3)} ms`);
});
