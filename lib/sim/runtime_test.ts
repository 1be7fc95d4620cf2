import assert from "node:assert/strict";
import { realClock, type RequestOutput, SimRuntime, type StepTiming, virtualClock } from "./runtime.ts";
import { createScheduler } from "./scheduler.ts";
import { EOS_TOKEN_ID, VOCAB_SIZE } from "./tokenizer.ts";

const STEP_MS = 4;
const scheduler = () =>
  createScheduler({
    num_gpu_blocks: 1000,
    block_size: 16,
    max_num_seqs: 16,
    max_num_batched_tokens: 512,
    max_model_len: 2048,
    enable_prefix_caching: true,
    step_time: (s) => STEP_MS + s.prefill_tokens * 0.01,
    eos_token_id: EOS_TOKEN_ID,
    vocab_size: VOCAB_SIZE,
    seed: 0,
  });

/** Submits and resolves with every output the listener saw once the request finishes. */
function run(rt: SimRuntime, id: string, max_tokens: number, delay = 0) {
  const outs: RequestOutput[] = [];
  const done = new Promise<RequestOutput[]>((resolve) => {
    rt.submit({ id, prompt_ids: [1, 2, 3, 4], max_tokens, ignore_eos: true }, (o) => {
      outs.push(o);
      if (o.finish) resolve(outs);
    }, delay);
  });
  return done;
}

Deno.test("tokens are written at the scheduled times and recorded as ground truth", async () => {
  const steps: StepTiming[] = [];
  await using rt = new SimRuntime({
    scheduler: scheduler(),
    clock: virtualClock(1000),
    onStep: (t) => steps.push(t),
  });
  const outs = await run(rt, "a", 5);
  assert.equal(outs.filter((o) => o.token).length, 5);
  const gt = rt.groundTruth("a")!;
  assert.equal(gt.arrival_ms, 1000);
  assert.deepEqual(gt.token_ms, outs.map((o) => o.token!.t_ms));
  assert.equal(gt.first_token_ms, 1000 + STEP_MS + 4 * 0.01);
  assert.equal(gt.end_ms, gt.token_ms[4]);
  assert.equal(gt.finish_reason, "length");
  for (const s of steps) assert.equal(s.delivered_ms, s.scheduled_end_ms, "a virtual clock is never late");
  for (let i = 1; i < 5; i++) assert.equal(gt.token_ms[i] - gt.token_ms[i - 1], STEP_MS);
});

Deno.test("the warm-up penalty delays the first working step only", async () => {
  await using rt = new SimRuntime({ scheduler: scheduler(), clock: virtualClock(0), warmup_penalty_ms: 50 });
  await run(rt, "cold", 2);
  await run(rt, "warm", 2);
  const ttft = (id: string) => rt.groundTruth(id)!.first_token_ms! - rt.groundTruth(id)!.arrival_ms;
  assert.ok(Math.abs(ttft("cold") - ttft("warm") - 50) < 1e-9);
  const cold = rt.groundTruth("cold")!;
  assert.equal(cold.token_ms[1] - cold.token_ms[0], STEP_MS, "later steps are not penalised");
});

Deno.test("the engine sees a request after the API server's delay", async () => {
  await using rt = new SimRuntime({ scheduler: scheduler(), clock: virtualClock(0) });
  await run(rt, "a", 1, 7);
  const gt = rt.groundTruth("a")!;
  assert.equal(gt.arrival_ms, 0);
  assert.equal(gt.first_token_ms, 7 + STEP_MS + 0.04);
});

Deno.test("an idle engine pays the idle penalty on its next step", async () => {
  const clock = virtualClock(0);
  await using rt = new SimRuntime({
    scheduler: scheduler(),
    clock,
    idle_penalty_ms: (idle_s) => (idle_s >= 30 ? 5 : 0),
  });
  await run(rt, "a", 1);
  await run(rt, "b", 1);
  clock.advance(60_000);
  await run(rt, "c", 1);
  const ttft = (id: string) => rt.groundTruth(id)!.first_token_ms! - rt.groundTruth(id)!.arrival_ms;
  assert.equal(ttft("b"), ttft("a"));
  assert.ok(Math.abs(ttft("c") - ttft("b") - 5) < 1e-9, `${ttft("c") - ttft("b")}`);
});

Deno.test("abort stops delivery and frees the request; a detaching listener does too", async () => {
  await using rt = new SimRuntime({ scheduler: scheduler(), clock: virtualClock(0) });
  let seen = 0;
  rt.submit({ id: "x", prompt_ids: [1, 2], max_tokens: 100, ignore_eos: true }, () => {
    seen++;
    if (seen === 3) rt.abort("x");
  });
  let detached = 0;
  rt.submit({ id: "y", prompt_ids: [1, 2], max_tokens: 100, ignore_eos: true }, () => ++detached < 2);
  await run(rt, "z", 10);
  assert.equal(seen, 3);
  assert.equal(detached, 2);
  assert.equal(rt.inFlight, 0);
  assert.equal(rt.groundTruth("x")!.finish_reason, "abort");
  assert.equal(rt.groundTruth("y")!.finish_reason, "detached");
  assert.equal(rt.stats().running, 0);
});

Deno.test("a duplicate running id is refused with a clear message", async () => {
  await using rt = new SimRuntime({ scheduler: scheduler(), clock: virtualClock(0) });
  const p = run(rt, "dup", 3);
  assert.throws(() => rt.submit({ id: "dup", prompt_ids: [1], max_tokens: 1 }, () => {}), /dup.*is running/);
  await p;
});

Deno.test("the real clock never wakes before the target", async () => {
  const clock = realClock();
  try {
    for (const d of [0.3, 1, 3]) {
      const target = clock.now() + d;
      await clock.sleepUntil(target);
      assert.ok(clock.now() >= target);
    }
    assert.ok(Math.abs(clock.now() - Date.now()) < 50, "the server clock is wall-clock ms");
  } finally {
    clock.close?.();
  }
});
