import assert from "node:assert/strict";
import OpenAI from "openai";
import { parseServeConfig, type ServeConfigInput } from "../engine/config.ts";
import { samples, value } from "./_prom_samples.ts";
import { createSim } from "./instance.ts";
import { virtualClock } from "./runtime.ts";
import { ARRIVAL_HEADER, createSimHandler } from "./server.ts";
import { EOS_TOKEN_ID, syntheticTokenIds, tokenFor } from "./tokenizer.ts";
import { SIM_VERSION } from "./log.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

function setup(over: Partial<ServeConfigInput> = {}, env: Record<string, string> = {}) {
  const cfg = parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096, ...over });
  const sim = createSim(cfg, { clock: virtualClock(1_700_000_000_000), env });
  const h = createSimHandler(sim);
  return { sim, h, [Symbol.asyncDispose]: () => sim.close() };
}

type Handler = (r: Request) => Promise<Response>;
const post = (h: Handler, path: string, body: unknown, headers: Record<string, string> = {}) =>
  h(
    new Request(`http://sim${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
const get = (h: Handler, path: string, headers: Record<string, string> = {}) =>
  h(new Request(`http://sim${path}`, { headers }));

/** The data payloads of an SSE body, JSON-parsed except `[DONE]`. */
async function events(r: Response): Promise<unknown[]> {
  const text = await r.text();
  assert.ok(text.endsWith("\n\n"), "SSE events end with a blank line");
  return text.split("\n\n").filter(Boolean).map((e) => {
    assert.ok(e.startsWith("data: "), `event framing: ${e.slice(0, 40)}`);
    const d = e.slice(6);
    return d === "[DONE]" ? d : JSON.parse(d);
  });
}

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("health, version and models have vLLM's shapes", async () => {
  await using s = setup({ served_model_name: "qwen" });
  const health = await get(s.h, "/health");
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "");
  assert.deepEqual(await (await get(s.h, "/version")).json(), { version: SIM_VERSION });
  assert.match(SIM_VERSION, /sim/);
  const m = await (await get(s.h, "/v1/models")).json();
  assert.equal(m.object, "list");
  assert.equal(m.data.length, 1);
  const card = m.data[0];
  assert.equal(card.id, "qwen");
  assert.equal(card.object, "model");
  assert.equal(card.owned_by, "vllm");
  assert.equal(card.root, MODEL);
  assert.equal(card.max_model_len, 4096);
  assert.equal((await get(s.h, "/nope")).status, 404);
  assert.equal((await post(s.h, "/health", {})).status, 405);
});

Deno.test("a completion has vLLM's body, usage, echoed request id and arrival header", async () => {
  await using s = setup();
  const r = await post(s.h, "/v1/completions", {
    model: MODEL,
    prompt: "Hello there, how are you?",
    max_tokens: 5,
  }, {
    "x-request-id": "req-1",
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-request-id"), "req-1");
  const arrival = Number(r.headers.get(ARRIVAL_HEADER));
  assert.ok(arrival >= 1_700_000_000_000);
  const b = await r.json();
  assert.equal(b.id, "cmpl-req-1");
  assert.equal(b.object, "text_completion");
  assert.equal(b.model, MODEL);
  assert.equal(b.choices.length, 1);
  assert.equal(b.choices[0].finish_reason, "length");
  assert.equal(typeof b.choices[0].text, "string");
  assert.ok(b.choices[0].text.length > 0);
  assert.equal(b.usage.completion_tokens, 5);
  assert.equal(b.usage.total_tokens, b.usage.prompt_tokens + 5);
  const tok = await (await post(s.h, "/tokenize", { prompt: "Hello there, how are you?" })).json();
  assert.equal(b.usage.prompt_tokens, tok.count);
  assert.deepEqual(b.usage.prompt_tokens_details, { cached_tokens: 0 });

  const gt = await (await get(s.h, "/servelab/ground_truth?request_id=req-1")).json();
  assert.equal(gt.arrival_ms, arrival);
  assert.equal(gt.token_ms.length, 5);
  assert.equal(gt.first_token_ms, gt.token_ms[0]);
  assert.equal(gt.end_ms, gt.token_ms[4]);
  assert.ok(gt.first_token_ms > gt.arrival_ms);
  for (let i = 1; i < 5; i++) assert.ok(gt.token_ms[i] > gt.token_ms[i - 1]);
});

Deno.test("a streamed completion: one chunk per token, finish on the last, a usage chunk, then [DONE]", async () => {
  await using s = setup();
  const r = await post(s.h, "/v1/completions", {
    prompt: [1, 2, 3, 4, 5, 6, 7, 8],
    ignore_eos: true, // EOS (1 in 256 per token) would end the stream early
    max_tokens: 6,
    stream: true,
    stream_options: { include_usage: true },
  });
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^text\/event-stream/);
  const ev = await events(r) as Any[];
  assert.equal(ev.at(-1), "[DONE]");
  const content = ev.slice(0, -2);
  assert.equal(content.length, 6);
  for (const c of content) {
    assert.equal(c.object, "text_completion");
    assert.equal(c.choices.length, 1);
    assert.equal(typeof c.choices[0].text, "string");
  }
  assert.deepEqual(content.map((c) => c.choices[0].finish_reason), [null, null, null, null, null, "length"]);
  const u = ev.at(-2);
  assert.deepEqual(u.choices, []);
  assert.deepEqual(u.usage, {
    prompt_tokens: 8,
    total_tokens: 14,
    completion_tokens: 6,
    prompt_tokens_details: { cached_tokens: 0 },
  });
  assert.ok(content.every((c) => c.id === u.id));
});

Deno.test("without include_usage there is no usage chunk; continuous usage stats count up", async () => {
  await using s = setup();
  let ev = await events(
    await post(s.h, "/v1/completions", { prompt: "hi", max_tokens: 3, ignore_eos: true, stream: true }),
  ) as Any[];
  assert.equal(ev.length, 4);
  assert.ok(ev.slice(0, 3).every((c) => c.usage === undefined && c.choices.length === 1));
  ev = await events(
    await post(s.h, "/v1/completions", {
      prompt: "hi",
      ignore_eos: true, // EOS (1 in 256 per token) would end the stream early
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    }),
  ) as Any[];
  assert.deepEqual(ev.slice(0, 3).map((c) => c.usage.completion_tokens), [1, 2, 3]);
});

Deno.test("a chat stream starts with a role-only chunk, like vLLM", async () => {
  await using s = setup();
  const r = await post(s.h, "/v1/chat/completions", {
    messages: [{ role: "user", content: "Say something." }],
    ignore_eos: true, // EOS (1 in 256 per token) would end the stream early
    max_tokens: 4,
    stream: true,
    stream_options: { include_usage: true },
  });
  const ev = await events(r) as Any[];
  assert.deepEqual(ev[0].choices[0].delta, { role: "assistant", content: "" });
  assert.equal(ev[0].object, "chat.completion.chunk");
  assert.match(ev[0].id, /^chatcmpl-/);
  const content = ev.slice(1, -2);
  assert.equal(content.length, 4);
  assert.ok(
    content.every((c) => typeof c.choices[0].delta.content === "string" && !("role" in c.choices[0].delta)),
  );
  assert.equal(content.at(-1).choices[0].finish_reason, "length");
  const tok =
    await (await post(s.h, "/tokenize", { messages: [{ role: "user", content: "Say something." }] }))
      .json();
  assert.equal(ev.at(-2).usage.prompt_tokens, tok.count);
  assert.equal(ev.at(-2).usage.completion_tokens, 4);
});

Deno.test("a non-streamed chat completion has an assistant message", async () => {
  await using s = setup();
  const b = await (await post(s.h, "/v1/chat/completions", {
    messages: [{ role: "system", content: "Be brief." }, {
      role: "user",
      content: [{ type: "text", text: "Hi" }],
    }],
    max_completion_tokens: 3,
  })).json();
  assert.equal(b.object, "chat.completion");
  assert.equal(b.choices[0].message.role, "assistant");
  assert.equal(typeof b.choices[0].message.content, "string");
  assert.equal(b.usage.completion_tokens, 3);
});

Deno.test("EOS ends a request with finish_reason stop unless ignore_eos; min_tokens holds it off", async () => {
  // A request seed whose generated tokens hit EOS early (the engine seed is 0).
  let seed = 0, at = -1;
  for (; seed < 100_000 && at < 0; seed++) {
    for (let i = 1; i < 12; i++) if (tokenFor(0, seed, i) === EOS_TOKEN_ID) at = i;
  }
  seed--;
  await using s = setup();
  const stop = await (await post(s.h, "/v1/completions", { prompt: "x", max_tokens: 40, seed })).json();
  assert.equal(stop.choices[0].finish_reason, "stop");
  assert.equal(stop.usage.completion_tokens, at + 1);
  const ignore =
    await (await post(s.h, "/v1/completions", { prompt: "x", max_tokens: 40, seed, ignore_eos: true }))
      .json();
  assert.equal(ignore.choices[0].finish_reason, "length");
  assert.equal(ignore.usage.completion_tokens, 40);
  const min =
    await (await post(s.h, "/v1/completions", { prompt: "x", max_tokens: 40, seed, min_tokens: at + 3 }))
      .json();
  assert.ok(min.usage.completion_tokens >= at + 3, `min_tokens: ${min.usage.completion_tokens}`);
});

Deno.test("errors have vLLM's body and messages", async () => {
  await using s = setup();
  const err = async (r: Response, status: number) => {
    assert.equal(r.status, status);
    const b = await r.json();
    assert.deepEqual(Object.keys(b), ["error"]);
    assert.deepEqual(Object.keys(b.error).sort(), ["code", "message", "param", "type"]);
    assert.equal(b.error.code, status);
    return b.error;
  };
  let e = await err(await post(s.h, "/v1/completions", { prompt: "hi", n: 2 }), 400);
  assert.equal(e.type, "BadRequestError");
  assert.match(e.message, /n=2 is not supported.*n=1/);
  e = await err(
    await post(s.h, "/v1/completions", { prompt: syntheticTokenIds(4000, 1), max_tokens: 200 }),
    400,
  );
  assert.equal(
    e.message,
    "This model's maximum context length is 4096 tokens. However, you requested 4200 tokens " +
      "(4000 in the messages, 200 in the completion). Please reduce the length of the messages or completion.",
  );
  e = await err(
    await post(s.h, "/v1/chat/completions", { messages: [{ role: "user", content: "kavo ".repeat(5000) }] }),
    400,
  );
  assert.match(
    e.message,
    /^This model's maximum context length is 4096 tokens\. However, you requested \d+ tokens in the messages, Please reduce the length of the messages\.$/,
  );
  e = await err(await post(s.h, "/v1/completions", { model: "other", prompt: "hi" }), 404);
  assert.equal(e.type, "NotFoundError");
  assert.equal(e.message, "The model `other` does not exist.");
  e = await err(await post(s.h, "/v1/completions", "{not json"), 400);
  assert.match(e.message, /not valid JSON/);
  e = await err(await post(s.h, "/v1/completions", { prompt: 12 }), 400);
  assert.equal(e.param, "prompt");
  e = await err(await post(s.h, "/v1/completions", { prompt: ["a", "b"] }), 400);
  assert.match(e.message, /one prompt per request, got a batch of 2/);
  e = await err(await post(s.h, "/v1/completions", { prompt: "a", max_tokens: 4, min_tokens: 9 }), 400);
  assert.match(e.message, /min_tokens must be less than or equal to max_tokens=4, got 9/);
  e = await err(await post(s.h, "/v1/completions", { prompt: [10 ** 9] }), 400);
  assert.match(e.message, /out of vocabulary/);
});

Deno.test("the API key guards /v1 paths only, with vLLM's 401 body", async () => {
  for (
    const { over, env } of [{ over: { extra_args: ["--api-key", "k1"] }, env: {} }, {
      over: {},
      env: { VLLM_API_KEY: "k1" },
    }]
  ) {
    await using s = setup(over, env);
    const denied = await get(s.h, "/v1/models");
    assert.equal(denied.status, 401);
    assert.deepEqual(await denied.json(), { error: "Unauthorized" });
    assert.equal((await get(s.h, "/v1/models", { authorization: "Bearer wrong" })).status, 401);
    assert.equal((await post(s.h, "/v1/completions", { prompt: "hi", max_tokens: 1 })).status, 401);
    assert.equal((await get(s.h, "/v1/models", { authorization: "Bearer k1" })).status, 200);
    for (const open of ["/health", "/version", "/metrics"]) {
      assert.equal((await get(s.h, open)).status, 200, open);
    }
    assert.equal((await post(s.h, "/tokenize", { prompt: "hi" })).status, 200);
  }
});

Deno.test("a repeated prompt reports cached tokens: whole blocks, never the last token", async () => {
  await using s = setup();
  const prompt = syntheticTokenIds(2000, 3);
  const body = { prompt, max_tokens: 2 };
  const first = await (await post(s.h, "/v1/completions", body)).json();
  const second = await (await post(s.h, "/v1/completions", body)).json();
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(second.usage.prompt_tokens_details.cached_tokens, Math.floor(1999 / 16) * 16);
  // A shared 1,000-token prefix with a different suffix hits floor(1000/16) blocks.
  const other = await (await post(s.h, "/v1/completions", {
    prompt: [...prompt.slice(0, 1000), ...syntheticTokenIds(500, 4)],
    max_tokens: 2,
  })).json();
  assert.equal(other.usage.prompt_tokens_details.cached_tokens, Math.floor(1000 / 16) * 16);
});

Deno.test("cached tokens are absent without --enable-prompt-tokens-details and zero with caching off", async () => {
  const prompt = syntheticTokenIds(300, 5);
  {
    await using s = setup({ enable_prompt_tokens_details: false });
    await post(s.h, "/v1/completions", { prompt, max_tokens: 1 });
    const b = await (await post(s.h, "/v1/completions", { prompt, max_tokens: 1 })).json();
    assert.equal(b.usage.prompt_tokens_details, null);
  }
  {
    await using s = setup({ enable_prefix_caching: false });
    await post(s.h, "/v1/completions", { prompt, max_tokens: 1 });
    const b = await (await post(s.h, "/v1/completions", { prompt, max_tokens: 1 })).json();
    assert.deepEqual(b.usage.prompt_tokens_details, { cached_tokens: 0 });
  }
});

Deno.test("/reset_prefix_cache exists only in dev mode and empties the cache", async () => {
  const prompt = syntheticTokenIds(500, 6);
  {
    await using s = setup();
    assert.equal((await post(s.h, "/reset_prefix_cache", {})).status, 404);
  }
  await using s = setup({}, { VLLM_SERVER_DEV_MODE: "1" });
  await post(s.h, "/v1/completions", { prompt, max_tokens: 1 });
  const warm = await (await post(s.h, "/v1/completions", { prompt, max_tokens: 1 })).json();
  assert.ok(warm.usage.prompt_tokens_details.cached_tokens > 0);
  const reset = await post(s.h, "/reset_prefix_cache", {});
  assert.equal(reset.status, 200);
  const cold = await (await post(s.h, "/v1/completions", { prompt, max_tokens: 1 })).json();
  assert.equal(cold.usage.prompt_tokens_details.cached_tokens, 0);
});

Deno.test("metrics deltas agree with per-request usage", async () => {
  await using s = setup();
  const before = await (await get(s.h, "/metrics")).text();
  const shared = syntheticTokenIds(640, 7);
  const bodies = [
    { prompt: shared, max_tokens: 4, ignore_eos: true },
    {
      prompt: [...shared, ...syntheticTokenIds(50, 8)],
      max_tokens: 7,
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    },
    { prompt: "A short one.", max_tokens: 3, ignore_eos: true },
    {
      prompt: shared,
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    },
  ];
  const usages = await Promise.all(bodies.map(async (b) => {
    const r = await post(s.h, "/v1/completions", b);
    return b.stream ? ((await events(r)) as Any[]).at(-2).usage : (await r.json()).usage;
  }));
  const after = await (await get(s.h, "/metrics")).text();
  const d = (name: string, labels = {}) => value(after, name, labels) - value(before, name, labels);
  const sum = (f: (u: Any) => number) => usages.reduce((a, u) => a + f(u), 0);
  assert.equal(d("vllm:prompt_tokens_total"), sum((u) => u.prompt_tokens));
  assert.equal(d("vllm:generation_tokens_total"), sum((u) => u.completion_tokens));
  assert.equal(d("vllm:prefix_cache_queries_total"), sum((u) => u.prompt_tokens));
  assert.equal(d("vllm:prefix_cache_hits_total"), sum((u) => u.prompt_tokens_details.cached_tokens));
  assert.ok(sum((u) => u.prompt_tokens_details.cached_tokens) > 0, "some requests hit the cache");
  assert.equal(d("vllm:request_success_total", { finished_reason: "length" }), 4);
  assert.equal(d("vllm:time_to_first_token_seconds_count"), 4);
  assert.equal(d("vllm:e2e_request_latency_seconds_count"), 4);
  assert.equal(d("vllm:inter_token_latency_seconds_count"), sum((u) => u.completion_tokens - 1));
  assert.equal(value(after, "vllm:num_requests_running"), 0);
  const info = samples(after).find((x) => x.name === "vllm:cache_config_info")!;
  assert.equal(info.labels.num_gpu_blocks, String(s.sim.plan.num_gpu_blocks));
  assert.equal(info.labels.block_size, "16");
});

Deno.test("ground truth is off with --no-sim-ground-truth", async () => {
  await using s = setup({ sim: { ground_truth: false } });
  const r = await post(s.h, "/v1/completions", { prompt: "hi", max_tokens: 1 });
  assert.equal(r.headers.get(ARRIVAL_HEADER), null);
  await r.body?.cancel();
  assert.equal((await get(s.h, "/servelab/ground_truth")).status, 404);
});

Deno.test("tokenize and detokenize round-trip", async () => {
  await using s = setup();
  const t = await (await post(s.h, "/tokenize", { prompt: " kavo relu.", return_token_strs: true })).json();
  assert.equal(t.count, t.tokens.length);
  assert.equal(t.max_model_len, 4096);
  assert.equal(t.token_strs.join(""), " kavo relu.");
  const d = await (await post(s.h, "/detokenize", { tokens: t.tokens })).json();
  assert.equal(d.prompt, " kavo relu.");
});

Deno.test("a client that disconnects aborts its request", async () => {
  await using s = setup();
  const r = await post(s.h, "/v1/completions", { prompt: "hi", max_tokens: 200, stream: true });
  const reader = r.body!.getReader();
  await reader.read();
  assert.equal(s.sim.runtime.inFlight, 1);
  await reader.cancel();
  assert.equal(s.sim.runtime.inFlight, 0);
  const text = await (await get(s.h, "/metrics")).text();
  assert.equal(value(text, "vllm:request_success_total", { finished_reason: "abort" }), 1);
});

Deno.test("the openai client streams from the sim", async () => {
  await using s = setup({}, { VLLM_API_KEY: "secret" });
  const client = new OpenAI({
    baseURL: "http://sim/v1",
    apiKey: "secret",
    fetch: (url: RequestInfo | URL, init?: RequestInit) => s.h(new Request(url, init)),
  });
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Hello" }],
    max_tokens: 5,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "", chunks = 0, usage: Any;
  for await (const c of stream) {
    if (c.choices.length) {
      chunks++;
      text += c.choices[0].delta.content ?? "";
    }
    if (c.usage) usage = c.usage;
  }
  assert.equal(chunks, 6); // the role chunk and five tokens
  assert.ok(text.length > 0);
  assert.equal(usage.completion_tokens, 5);
  const done = await client.completions.create({ model: MODEL, prompt: "Hi", max_tokens: 2 });
  assert.equal(done.usage?.completion_tokens, 2);
  await assert.rejects(
    () => client.completions.create({ model: MODEL, prompt: "Hi", max_tokens: 2, n: 3 }),
    (e: Any) => e.status === 400 && /n=3/.test(e.message),
  );
});

Deno.test("pre-rendered stream chunks are byte-identical to the chunk builders' JSON", async () => {
  const { chunkWriter, chatChunk, completionChunk, sse } = await import("./openai_api.ts");
  const h = { id: 'cmpl-"q"', created: 12, model: "m/x" };
  const u = { prompt_tokens: 1, total_tokens: 3, completion_tokens: 2, prompt_tokens_details: null };
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  const c = chunkWriter("completion", h), k = chunkWriter("chat", h);
  assert.equal(dec(c.content(' a"\n', null)), dec(sse(completionChunk(h, ' a"\n', null))));
  assert.equal(dec(c.content("b", "length", u)), dec(sse(completionChunk(h, "b", "length", u))));
  assert.equal(dec(k.content("b", "stop")), dec(sse(chatChunk(h, { content: "b" }, "stop"))));
  assert.equal(dec(k.role(u)), dec(sse(chatChunk(h, { role: "assistant", content: "" }, null, u))));
});
