import assert from "node:assert/strict";
import OpenAI from "openai";
import { parseServeConfig } from "../engine/config.ts";
import { createClock } from "../probe/clock.ts";
import { promptOfTokens } from "../probe/prompts.ts";
import { probe } from "../probe/stream.ts";
import type { RequestRecord } from "../probe/types.ts";
import { $display } from "../report/bundle.ts";
import { checkYourLearning } from "./learning.ts";
import { launchShown, phaseLines, serveCommand } from "./launch_shown.ts";
import { openaiOptions, sdkVsProbe } from "./single_request.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

Deno.test("serveCommand is the exact `vllm serve` argv, shell-quoted; phaseLines list the parsed phases", () => {
  const cfg = parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096, port: 8000 });
  const cmd = serveCommand(cfg);
  assert.match(cmd, /^vllm serve Qwen\/Qwen2\.5-1\.5B-Instruct .*--max-model-len 4096/);
  assert.match(cmd, /--port 8000/);
  assert.deepEqual(
    phaseLines({
      server_up: true,
      simulated: true,
      errors: [],
      phases: [{ name: "weights_load", seconds: 1.5, source: "log" }],
      kv_cache_tokens: 1000,
      max_concurrency: 2.5,
      max_concurrency_len: 400,
    }),
    [
      "weights_load       1.50 s (log)",
      "KV cache           1000 tokens",
      "max concurrency    2.5x for 400-token requests",
    ],
  );
});

const rec = (o: Partial<RequestRecord>): RequestRecord => ({
  request_id: "r",
  endpoint: "completions",
  ok: true,
  t_intended_ms: 0,
  t_send_ms: 10,
  t_headers_ms: 12,
  t_first_event_ms: 20,
  t_first_choice_ms: 20,
  t_first_content_ms: 20,
  t_end_ms: 60,
  chunk_ms: [20, 30],
  ...o,
} as RequestRecord);

Deno.test("sdkVsProbe: the SDK's first chunk beside the probe's timestamps, the difference and what each covers", () => {
  const s = sdkVsProbe({ first_chunk_ms: 13, total_ms: 55, chunks: 2 }, rec({}));
  assert.deepEqual(s.rows.map((r) => r.ms), [13, 55, 2, 10, 10, 50]);
  assert.equal(s.difference_ms, 3);
  assert.match(s.text, /the SDK's is 3\.00 ms longer/);
  assert.doesNotMatch(String(s[$display]()["text/html"]), /undefined|NaN/);
  const none = sdkVsProbe({ chunks: 0 }, rec({}));
  assert.equal(none.difference_ms, undefined);
  assert.match(String(none[$display]()["text/html"]), /not measured/);
  assert.throws(
    () => sdkVsProbe({ chunks: 0 }, rec({ ok: false, error_kind: "connection", error_message: "refused" })),
    /The probe.s request failed \(connection: refused\).*rerun the launch cell/,
  );
});

Deno.test("checkYourLearning: the tier's seed questions in order, each with an answer or why not; a bad key is named", () => {
  const l = checkYourLearning({}, "kv");
  assert.deepEqual(l.questions.map((q) => q.n), [12, 13, 14, 15]);
  const html = String(l[$display]()["text/html"]);
  assert.match(html, /Check your learning/);
  assert.match(html, /How did you estimate bytes per KV token/);
  assert.doesNotMatch(html, /undefined|NaN/);
  assert.throws(
    () => checkYourLearning({}, "kv_scaling"),
    /'kv_scaling' is not a tier; use one of ttft, prefix, kv, batching/,
  );
});

Deno.test("launchShown starts the embedded engine; the openai SDK and the probe both stream one request from it", async () => {
  const cfg = parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096 });
  const logged: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  let engine;
  try {
    engine = await launchShown(cfg);
  } finally {
    console.log = orig;
  }
  await using _e = engine;
  assert.match(logged.join("\n"), /^\$ vllm serve Qwen\/Qwen2\.5-1\.5B-Instruct .*--port \d+/);
  assert.match(logged.join("\n"), /weights_load +\d+\.\d\d s \(log\)/);
  const client = new OpenAI(openaiOptions(engine));
  const prompt = await promptOfTokens(engine.baseUrl, engine.model, 64, { seed: 1 });
  let first: number | undefined;
  let chunks = 0;
  const t0 = performance.now();
  const stream = await client.completions.create(
    { model: engine.model, prompt, max_tokens: 4, temperature: 0, stream: true },
    { signal: AbortSignal.timeout(30_000) },
  );
  for await (const _c of stream) {
    first ??= performance.now() - t0;
    chunks++;
  }
  assert.ok(first !== undefined && chunks >= 4, `SDK streamed ${chunks} chunks`);
  const r = await probe(engine.baseUrl, {
    endpoint: "completions",
    model: engine.model,
    prompt,
    max_tokens: 4,
  }, {
    clock: createClock(),
    timeout_ms: 30_000,
  });
  const s = sdkVsProbe({ first_chunk_ms: first, total_ms: performance.now() - t0, chunks }, r);
  assert.ok(s.difference_ms !== undefined);
});
