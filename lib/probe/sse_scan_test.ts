import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { serveSim } from "../sim/server.ts";
import { createClock } from "./clock.ts";
import { Http1Pool } from "./http1.ts";
import { type ScanSink, SseScanner } from "./sse_scan.ts";
import { probe } from "./stream.ts";
import { dialServer } from "./testing/dial_server.ts";
import type { ProbeRequest, RequestRecord } from "./types.ts";

const enc = new TextEncoder();

function scanner(endpoint: "completions" | "chat" = "completions") {
  const got = { content: [] as number[], data: [] as string[], fallback: "" };
  const sink: ScanSink = {
    content: (n) => got.content.push(n),
    data: (d) => got.data.push(d),
    fallback: (b) => (got.fallback += new TextDecoder().decode(b)),
  };
  return { s: new SseScanner(endpoint, sink), got };
}

const plain = (text: string) =>
  `data: {"id":"c","object":"text_completion","choices":[{"index":0,"text":${
    JSON.stringify(text)
  },"logprobs":null,"finish_reason":null,"stop_reason":null}]}\n\n`;

Deno.test("the scan counts plain content chunks on the bytes and hands on every other event", () => {
  const { s, got } = scanner();
  const finish = `data: {"choices":[{"index":0,"text":"z","finish_reason":"length"}]}\n\n`;
  const usage = `data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n`;
  const escaped = plain('say "hi"'), unicode = plain("é"), empty = plain("");
  const bad = `data: {"choices": [ not json\n\n`;
  s.feed(enc.encode(plain(" ab") + escaped + unicode + empty + finish + usage + bad + "data: [DONE]\n\n"));
  assert.deepEqual(got.content, [3]);
  assert.deepEqual(got.data, [
    escaped.slice(6, -2),
    unicode.slice(6, -2),
    empty.slice(6, -2),
    finish.slice(6, -2),
    usage.slice(6, -2),
    bad.slice(6, -2),
    "[DONE]",
  ]);
  assert.equal(got.fallback, "");
});

Deno.test("the scan keeps an event split over reads, byte by byte", () => {
  const { s, got } = scanner("chat");
  const ev = `data: {"choices":[{"index":0,"delta":{"content":"hey"},"finish_reason":null}]}\n\n`;
  const bytes = enc.encode(ev + ev);
  for (let i = 0; i < bytes.length; i++) s.feed(bytes.subarray(i, i + 1));
  assert.deepEqual(got.content, [3, 3]);
  assert.deepEqual(got.data, []);
});

Deno.test("a body that is not one data line per event goes to the SSE parser from there on", () => {
  for (const odd of [": comment\n\n", "event: x\ndata: {}\n\n", "data: {}\r\n\r\n", "data: a\ndata: b\n\n"]) {
    const { s, got } = scanner();
    s.feed(enc.encode(plain("a") + odd));
    s.feed(enc.encode(plain("b")));
    assert.deepEqual(got.content, [1], odd);
    assert.equal(got.fallback, odd + plain("b"), odd);
  }
});

/** A record without its timestamps. */
const shape = (r: RequestRecord) => ({
  ok: r.ok,
  error_kind: r.error_kind,
  chunks: r.chunk_ms.length,
  output_chars: r.output_chars,
  finish_reason: r.finish_reason,
  prompt_tokens: r.prompt_tokens,
  completion_tokens: r.completion_tokens,
  // The second request of a pair hits the engine's prefix cache: only whether the count came is compared.
  cached_tokens_known: r.cached_tokens !== undefined,
  first_choice_is_first_content: r.t_first_choice_ms === r.t_first_content_ms,
});

Deno.test("scan and parser give the same records from the embedded engine and the dial server", async () => {
  const clock = createClock();
  const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
  await using sim = await serveSim(cfg, { port: 0, env: {} });
  await using dial = await dialServer({ ttft_ms: 5, itl_ms: 1, tokens: 6, cached_tokens: 2, clock });
  for (const baseUrl of [sim.url, dial.baseUrl]) {
    using pool = new Http1Pool("127.0.0.1", Number(new URL(baseUrl).port));
    for (const endpoint of ["completions", "chat"] as const) {
      const req: ProbeRequest = {
        endpoint,
        model: baseUrl === sim.url ? "Qwen/Qwen2.5-1.5B-Instruct" : "dial-model",
        prompt: "a prompt with some words",
        max_tokens: 9,
        ignore_eos: true,
        seed: 7, // the same tokens for both
      };
      const [a, b] = [
        await probe(baseUrl, req, { clock, pool, parse: "scan" }),
        await probe(baseUrl, req, { clock, pool, parse: "parser" }),
      ];
      assert.equal(a.ok, true, a.error_message);
      assert.ok(a.chunk_ms.length > 0);
      assert.deepEqual(shape(a), shape(b), `${baseUrl} ${endpoint}`);
    }
  }
});
