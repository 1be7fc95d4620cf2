import assert from "node:assert/strict";
import { createScheduler } from "./scheduler.ts";
import { EOS_TOKEN_ID, syntheticTokenIds, VOCAB_SIZE } from "./tokenizer.ts";
import type { FinishEvent, Scheduler, SchedulerOptions, SimRequest, StepOutcome } from "./types.ts";

/** A deterministic step time: 1 ms per step plus 0.01 ms per prefill token and 0.001 ms per context token. */
const stepTime: SchedulerOptions["step_time"] = (s) => 1 + s.prefill_tokens * 0.01 + s.context_tokens * 0.001;

function sched(over: Partial<SchedulerOptions> = {}): Scheduler {
  return createScheduler({
    num_gpu_blocks: 1001,
    block_size: 16,
    max_num_seqs: 256,
    max_num_batched_tokens: 8192,
    max_model_len: 8192,
    enable_prefix_caching: true,
    step_time: stepTime,
    eos_token_id: EOS_TOKEN_ID,
    vocab_size: VOCAB_SIZE,
    seed: 0,
    ...over,
  });
}

function req(id: string, prompt_ids: number[], max_tokens = 8, extra: Partial<SimRequest> = {}): SimRequest {
  return { id, prompt_ids, max_tokens, arrival_ms: 0, ignore_eos: true, ...extra };
}

/** Steps until idle; returns every outcome and the finish events by request id. */
function drain(s: Scheduler, now = 0) {
  const outcomes: StepOutcome[] = [];
  const done = new Map<string, FinishEvent>();
  for (let guard = 0; s.hasWork(); guard++) {
    assert.ok(guard < 100_000, "scheduler did not drain");
    const o = s.step(now);
    outcomes.push(o);
    for (const f of o.finished) done.set(f.request_id, f);
    now = o.start_ms + o.duration_ms;
  }
  return { outcomes, done, end_ms: now };
}

/** Runs requests one after another (each after the previous finished); returns their finish events. */
function oneByOne(s: Scheduler, reqs: SimRequest[]): FinishEvent[] {
  return reqs.map((r) => {
    s.add(r);
    return drain(s).done.get(r.id)!;
  });
}

Deno.test("a repeated prompt is served from full cached blocks, the last token recomputed", () => {
  const s = sched();
  const p40 = syntheticTokenIds(40, 1);
  const p48 = syntheticTokenIds(48, 2);
  const [a1, a2, b1, b2] = oneByOne(s, [req("a1", p40), req("a2", p40), req("b1", p48), req("b2", p48)]);
  assert.deepEqual([a1.cached_tokens, a2.cached_tokens, b1.cached_tokens, b2.cached_tokens], [0, 32, 0, 32]);
  const st = s.stats();
  assert.equal(st.prefix_queries_tokens, 40 + 40 + 48 + 48);
  assert.equal(st.prefix_hits_tokens, 64);
});

Deno.test("a shared prefix hits floor(P / B) blocks whatever the suffix", () => {
  const s = sched();
  const prefix = syntheticTokenIds(100, 3);
  const f = oneByOne(s, [1, 2, 3].map((i) => req(`r${i}`, [...prefix, ...syntheticTokenIds(20, 10 + i)])));
  assert.deepEqual(f.map((x) => x.cached_tokens), [0, 96, 96]);
});

Deno.test("a cache hit shortens the prefill, so the first token comes sooner", () => {
  const s = sched();
  const p = syntheticTokenIds(2000, 4);
  const [cold, warm] = oneByOne(s, [req("c", p, 1), req("w", p, 1)]);
  assert.ok(
    warm.first_token_ms - warm.first_scheduled_ms < (cold.first_token_ms - cold.first_scheduled_ms) / 2,
  );
});

Deno.test("with prefix caching off nothing hits and nothing is counted", () => {
  const s = sched({ enable_prefix_caching: false });
  const p = syntheticTokenIds(64, 5);
  const f = oneByOne(s, [req("a", p), req("b", p)]);
  assert.deepEqual(f.map((x) => x.cached_tokens), [0, 0]);
  assert.equal(s.stats().prefix_queries_tokens, 0);
  assert.equal(s.stats().prefix_hits_tokens, 0);
});

Deno.test("requests scheduled in the same step share the blocks committed by the first", () => {
  const s = sched();
  const p = syntheticTokenIds(64, 6);
  s.add(req("a", p));
  s.add(req("b", p));
  const { done } = drain(s);
  assert.equal(done.get("a")!.cached_tokens, 0);
  assert.equal(done.get("b")!.cached_tokens, 48);
});

Deno.test("a working set of prefixes larger than the pool evicts LRU and hits collapse; one that fits keeps hitting", () => {
  const hitRate = (prefixes: number) => {
    // 40 usable blocks of 16 tokens; each prompt is 8 full blocks + 1 token, each answer 1 token.
    const s = sched({ num_gpu_blocks: 41 });
    const prompts = Array.from({ length: prefixes }, (_, i) => syntheticTokenIds(129, 100 + i));
    const reqs = [0, 1, 2].flatMap((round) => prompts.map((p, i) => req(`r${round}-${i}`, p, 1)));
    const f = oneByOne(s, reqs).slice(prefixes); // rounds 2 and 3
    return f.reduce((a, x) => a + x.cached_tokens, 0) / f.reduce((a, x) => a + x.prompt_tokens, 0);
  };
  const fits = hitRate(4); // 4 x 9 blocks = 36 <= 40
  const spills = hitRate(6); // 54 > 40: round robin under LRU always evicts the next one needed
  assert.ok(fits > 0.95, `fits: ${fits}`);
  assert.ok(spills < 0.05, `spills: ${spills}`);
});

Deno.test("when blocks run out the latest running request is preempted and still completes", () => {
  // 20 usable blocks; 4 requests growing to 16 + 100 tokens (8 blocks each) cannot all fit.
  const s = sched({ num_gpu_blocks: 21 });
  for (let i = 0; i < 4; i++) s.add(req(`r${i}`, syntheticTokenIds(16, 200 + i), 100));
  const { outcomes, done } = drain(s);
  const preempted = outcomes.flatMap((o) => o.preempted);
  assert.ok(preempted.length > 0);
  assert.equal(preempted[0], "r3", "the last arrived goes first");
  assert.equal(s.stats().preemptions_total, preempted.length);
  for (let i = 0; i < 4; i++) assert.equal(done.get(`r${i}`)!.completion_tokens, 100);
  assert.equal(done.get("r0")!.preemptions, 0);
  assert.equal([...done.values()].reduce((a, f) => a + f.preemptions, 0), preempted.length);
  assert.equal(s.stats().kv_usage, 0);
});

Deno.test("a preempted request keeps its output: tokens are not re-emitted and indexes stay contiguous", () => {
  const s = sched({ num_gpu_blocks: 21 });
  for (let i = 0; i < 4; i++) s.add(req(`r${i}`, syntheticTokenIds(16, 300 + i), 100));
  const { outcomes } = drain(s);
  const byReq = new Map<string, number[]>();
  for (const t of outcomes.flatMap((o) => o.tokens)) {
    byReq.set(t.request_id, [...(byReq.get(t.request_id) ?? []), t.index]);
  }
  for (const idx of byReq.values()) assert.deepEqual(idx, Array.from({ length: 100 }, (_, i) => i));
  assert.equal(s.stats().prefix_queries_tokens, 4 * 16, "re-scheduling after preemption is not counted");
});

Deno.test("chunked prefill splits a long prompt across steps under the token budget", () => {
  const s = sched({ max_num_batched_tokens: 256 });
  s.add(req("long", syntheticTokenIds(1000, 7), 2));
  const { outcomes } = drain(s);
  const prefill = outcomes.map((o) => o.shape.prefill_tokens).filter((n) => n > 0);
  assert.deepEqual(prefill, [256, 256, 256, 232]);
  assert.equal(
    outcomes.findIndex((o) => o.tokens.length > 0),
    3,
    "the first token comes with the last chunk",
  );
});

Deno.test("decodes go first and a new prefill takes only the budget they leave", () => {
  const s = sched({ max_num_batched_tokens: 100 });
  for (let i = 0; i < 10; i++) s.add(req(`d${i}`, syntheticTokenIds(8, 400 + i), 20));
  s.step(0); // 10 prefills of 8 tokens
  s.add(req("big", syntheticTokenIds(500, 9), 2));
  const o = s.step(10);
  assert.equal(o.shape.decode_seqs, 10);
  assert.equal(o.shape.prefill_tokens, 90);
  assert.equal(o.shape.prefill_seqs, 1);
});

Deno.test("max_num_seqs caps the running batch and everyone finishes", () => {
  const s = sched({ max_num_seqs: 3 });
  for (let i = 0; i < 10; i++) s.add(req(`r${i}`, syntheticTokenIds(20, 500 + i), 5));
  let now = 0;
  let maxRunning = 0;
  let finished = 0;
  while (s.hasWork()) {
    const o = s.step(now);
    maxRunning = Math.max(maxRunning, s.stats().running + o.finished.length);
    finished += o.finished.length;
    now += o.duration_ms;
  }
  assert.equal(maxRunning, 3);
  assert.equal(finished, 10);
});

Deno.test("the first token is stamped at the end of the step that finishes the prefill", () => {
  const s = sched();
  s.add(req("a", syntheticTokenIds(100, 8), 3));
  const o = s.step(50);
  assert.equal(o.tokens.length, 1);
  assert.equal(o.tokens[0].t_ms, 50 + o.duration_ms);
  assert.equal(o.duration_ms, stepTime(o.shape));
  assert.deepEqual(o.shape, { prefill_tokens: 100, prefill_seqs: 1, decode_seqs: 0, context_tokens: 100 });
});

Deno.test("EOS stops a request unless ignore_eos; min_tokens holds EOS back", () => {
  const run = (extra: Partial<SimRequest>) => {
    const s = sched();
    for (let i = 0; i < 40; i++) s.add(req(`r${i}`, syntheticTokenIds(10, 600 + i), 2000, extra));
    return [...drain(s).done.values()];
  };
  const natural = run({ ignore_eos: false });
  const stopped = natural.filter((f) => f.reason === "stop");
  assert.ok(stopped.length > 30, `${stopped.length} of 40 stopped on EOS`);
  assert.ok(run({ ignore_eos: true }).every((f) => f.reason === "length" && f.completion_tokens === 2000));
  const held = run({ ignore_eos: false, min_tokens: 300 });
  assert.ok(held.every((f) => f.completion_tokens > 300));
});

Deno.test("abort frees a request's blocks, waiting or running, and reports it", () => {
  const s = sched({ max_num_seqs: 1 });
  s.add(req("run", syntheticTokenIds(100, 9), 50));
  s.add(req("wait", syntheticTokenIds(100, 10), 50));
  s.step(0);
  assert.ok(s.stats().kv_usage > 0);
  s.abort("run");
  s.abort("wait");
  assert.equal(s.stats().kv_usage, 0);
  const o = s.step(5);
  assert.deepEqual(o.finished.map((f) => [f.request_id, f.reason]), [["run", "abort"], ["wait", "abort"]]);
  assert.equal(s.hasWork(), false);
  assert.equal(s.stats().requests_finished_total, 2);
});

Deno.test("prompt plus max_tokens beyond max_model_len is refused with vLLM's message", () => {
  const s = sched({ max_model_len: 128 });
  assert.throws(() => s.add(req("x", syntheticTokenIds(100, 1), 29)), /maximum context length is 128 tokens/);
  assert.throws(() => s.add(req("y", [], 4)), /prompt is empty/);
  assert.throws(() => s.add(req("z", [VOCAB_SIZE], 4)), /outside/);
  s.add(req("ok", syntheticTokenIds(100, 1), 28));
  assert.throws(() => s.add(req("ok", syntheticTokenIds(10, 1), 2)), /in flight/);
});

Deno.test("reset of the prefix cache refuses while requests run and clears hits once idle", () => {
  const s = sched();
  const p = syntheticTokenIds(64, 11);
  s.add(req("a", p, 4));
  s.step(0);
  assert.equal(s.resetPrefixCache(), false);
  drain(s);
  assert.equal(s.resetPrefixCache(), true);
  assert.equal(oneByOne(s, [req("b", p)])[0].cached_tokens, 0);
});

Deno.test("counters agree with per-request accounting and generation is deterministic", () => {
  const run = () => {
    const s = sched({ max_num_batched_tokens: 512, num_gpu_blocks: 200 });
    for (let i = 0; i < 30; i++) {
      s.add(req(`r${i}`, syntheticTokenIds(50 + i * 10, i % 4), 64, { ignore_eos: false }));
    }
    const { outcomes, done } = drain(s);
    return { s, outcomes, done: [...done.values()] };
  };
  const a = run();
  const st = a.s.stats();
  assert.equal(st.generation_tokens_total, a.done.reduce((x, f) => x + f.completion_tokens, 0));
  assert.equal(st.prompt_tokens_total, a.done.reduce((x, f) => x + f.prompt_tokens, 0));
  assert.equal(st.prefix_hits_tokens, a.done.reduce((x, f) => x + f.cached_tokens, 0));
  assert.equal(st.requests_finished_total, 30);
  const b = run();
  assert.deepEqual(b.outcomes, a.outcomes);
});
