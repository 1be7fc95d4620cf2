import assert from "node:assert/strict";
import {
  capabilityRows,
  missingCapability,
  probeCapabilities,
  unprobedCapabilities,
} from "./capabilities.ts";
import { dialServer } from "./testing/dial_server.ts";
import { renameMetrics, shapeProxy } from "./testing/shape_proxy.ts";

Deno.test("the probe finds what a bare OpenAI server lacks: no /tokenize, /metrics, /version; usage only on request", async () => {
  await using srv = await dialServer({ tokens: 1 });
  const c = await probeCapabilities(srv.baseUrl, "dial-model", { timeout_ms: 5_000 });
  assert.equal(c.probed, true);
  assert.equal(c.endpoints.completions.ok, true);
  assert.equal(c.endpoints.chat.ok, true);
  assert.equal(c.endpoints.health.ok, true);
  assert.equal(c.endpoints.models.ok, true);
  assert.equal(c.endpoints.tokenize.ok, false);
  assert.equal(c.endpoints.tokenize.status, 404);
  assert.equal(c.endpoints.metrics.ok, false);
  assert.equal(c.endpoints.version.ok, false);
  assert.equal(c.usage, "on_request");
  assert.equal(c.cached_tokens, "not_reported");
  assert.equal(c.metric_family, undefined);
  assert.match(missingCapability(c, "tokenize")!, /no \/tokenize \(HTTP 404/);
  assert.match(missingCapability(c, "metrics")!, /no \/metrics/);
  assert.equal(missingCapability(c, "chat"), undefined);
  const rows = capabilityRows(c);
  assert.ok(rows.every(([k, v]) => k && v && !/undefined|NaN/.test(k + v)), JSON.stringify(rows));
  assert.deepEqual(
    rows.find(([k]) => k === "usage in streams")?.[1],
    "only with stream_options.include_usage (the lab asks for it)",
  );
});

Deno.test("the probe sees cached tokens when usage carries them, and usage in every stream when it always comes", async () => {
  await using srv = await dialServer({ tokens: 1, cached_tokens: 0 });
  // The dial server sends usage only when asked; a shape with usage "upstream" keeps that.
  const c = await probeCapabilities(srv.baseUrl, "dial-model", { timeout_ms: 5_000 });
  assert.equal(c.cached_tokens, "reported");
  await using stripped = await shapeProxy(srv.baseUrl, { cached_tokens: false, usage: "never" });
  const d = await probeCapabilities(stripped.baseUrl, "dial-model", { timeout_ms: 5_000 });
  assert.equal(d.usage, "never");
  assert.equal(d.cached_tokens, "unknown");
  assert.match(missingCapability(d, "usage")!, /no usage/);
});

Deno.test("a server that refuses token-id prompts is seen as such", async () => {
  await using srv = await dialServer({ tokens: 1 });
  await using text_only = await shapeProxy(srv.baseUrl, { token_ids: false });
  const c = await probeCapabilities(text_only.baseUrl, "dial-model", { timeout_ms: 5_000 });
  assert.equal(c.token_id_prompts, false);
  assert.match(missingCapability(c, "token_id_prompts")!, /refuses token-id prompts/);
});

Deno.test("a server that does not answer is a probe result with reasons, not a throw", async () => {
  const c = await probeCapabilities("http://127.0.0.1:9", "m", { timeout_ms: 2_000 });
  assert.equal(c.endpoints.completions.ok, false);
  assert.match(c.endpoints.completions.why!, /no answer/);
  assert.equal(c.usage, "unknown");
  assert.ok(capabilityRows(c).every(([, v]) => v.length > 0 && !v.includes("undefined")));
});

Deno.test("an unprobed engine says why, on one row", () => {
  const c = unprobedCapabilities("vLLM is launched by each tier");
  assert.deepEqual(capabilityRows(c), [["capabilities", "not probed: vLLM is launched by each tier"]]);
  assert.equal(missingCapability(c, "metrics"), undefined);
});

Deno.test("vLLM metric names are renamed to SGLang's, TGI's and llama.cpp's; unmapped vllm: lines dropped", () => {
  const text = [
    "# TYPE vllm:num_requests_waiting gauge",
    'vllm:num_requests_waiting{model_name="m"} 2',
    "# TYPE vllm:time_to_first_token_seconds histogram",
    'vllm:time_to_first_token_seconds_bucket{le="0.1"} 3',
    "vllm:cache_config_info 1",
    "process_cpu_seconds_total 1",
  ].join("\n");
  const s = renameMetrics(text, "sglang");
  assert.match(s, /^sglang:num_queue_reqs\{model_name="m"\} 2$/m);
  assert.match(s, /^sglang:time_to_first_token_seconds_bucket\{le="0.1"\} 3$/m);
  assert.doesNotMatch(s, /vllm:/);
  assert.match(s, /process_cpu_seconds_total 1/);
  assert.match(renameMetrics(text, "tgi"), /^tgi_queue_size\{model_name="m"\} 2$/m);
  assert.match(renameMetrics(text, "llamacpp"), /^llamacpp:requests_deferred/m);
});
