import assert from "node:assert/strict";
import { createClock } from "./clock.ts";
import { ProbeRequestSchema, RequestRecordSchema } from "./schema.ts";
import { probe } from "./stream.ts";
import { dialServer } from "./testing/dial_server.ts";

Deno.test("a probe record read back from JSON parses to the same record", async () => {
  const clock = createClock();
  await using srv = await dialServer({ tokens: 3, cached_tokens: 0, clock });
  const ok = await probe(srv.baseUrl, {
    endpoint: "chat",
    model: "m",
    prompt: "hi",
    max_tokens: 3,
    tags: { a: 1 },
  }, {
    clock,
  });
  const failed = await probe(srv.baseUrl + "/nope", {
    endpoint: "completions",
    model: "m",
    prompt: "hi",
    max_tokens: 3,
  }, {
    clock,
  });
  for (const r of [ok, failed]) assert.deepEqual(RequestRecordSchema.parse(JSON.parse(JSON.stringify(r))), r);
  assert.equal(failed.error_kind, "http_status");
  assert.throws(() => RequestRecordSchema.parse({ ...ok, t_send_ms: "soon" }), /t_send_ms/);
});

Deno.test("a request schema refuses token ids for chat and unknown fields", () => {
  const base = { endpoint: "completions", model: "m", prompt: [1, 2], max_tokens: 4 };
  assert.deepEqual(ProbeRequestSchema.parse(base), base);
  assert.throws(() => ProbeRequestSchema.parse({ ...base, endpoint: "chat" }), /Chat takes a text prompt/);
  assert.throws(() => ProbeRequestSchema.parse({ ...base, max_token: 4 }), /max_token/);
});
