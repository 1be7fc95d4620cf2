import assert from "node:assert/strict";
import { createClock } from "./clock.ts";
import { Http1Pool } from "./http1.ts";
import { probe, requestBody } from "./stream.ts";
import { type DialFault, dialServer, tokenText } from "./testing/dial_server.ts";
import type { ErrorKind, ProbeRequest, RequestRecord } from "./types.ts";

const clock = createClock();
const completions: ProbeRequest = {
  endpoint: "completions",
  model: "dial-model",
  prompt: "hello world",
  max_tokens: 5,
};
const chat: ProbeRequest = { ...completions, endpoint: "chat" };
const textOf = (n: number) => Array.from({ length: n }, (_, k) => tokenText(k)).join("");

/** t_send <= t_headers <= first event <= first choice <= first content <= chunks... <= t_end. */
function assertOrdered(r: RequestRecord): void {
  const seq = [
    r.t_intended_ms,
    r.t_send_ms,
    r.t_headers_ms!,
    r.t_first_event_ms!,
    r.t_first_choice_ms!,
    r.t_first_content_ms!,
    ...r.chunk_ms,
    r.t_end_ms,
  ];
  for (let i = 1; i < seq.length; i++) {
    assert.ok(seq[i - 1] <= seq[i], `timestamps out of order at ${i}: ${seq}`);
  }
}

Deno.test("a completions stream records every timestamp, chunk, usage and cached tokens", async () => {
  await using srv = await dialServer({ ttft_ms: 30, itl_ms: 5, tokens: 5, cached_tokens: 3, clock });
  const r = await probe(srv.baseUrl, { ...completions, tags: { family: "a" } }, {
    clock,
    request_id: "rid-1",
  });
  assert.equal(r.ok, true, r.error_message);
  assert.equal(r.error_kind, undefined);
  assert.equal(r.request_id, "rid-1");
  assert.equal(r.http_status, 200);
  assert.equal(r.chunk_ms.length, 5);
  assert.equal(r.output_chars, textOf(5).length);
  assert.deepEqual([r.prompt_tokens, r.completion_tokens, r.cached_tokens], [3, 5, 3]);
  assert.equal(r.finish_reason, "length");
  assert.deepEqual(r.tags, { family: "a" });
  assert.equal(r.t_intended_ms, r.t_send_ms, "t_intended defaults to the send time");
  assertOrdered(r);
  // Completions: the first event already carries text.
  assert.equal(r.t_first_event_ms, r.t_first_content_ms);
  // Causality: the client cannot see the first token before the server wrote it.
  const truth = srv.truth("rid-1")!;
  assert.equal(
    r.server?.arrival_ms,
    Number(truth.arrival_ms.toFixed(3)),
    "the server's arrival header is kept",
  );
  assert.ok(r.t_first_content_ms! >= truth.first_token_ms!);
  assert.ok(r.t_first_content_ms! - r.t_send_ms >= 30);
});

Deno.test("a chat stream counts the role chunk as first choice but not as content", async () => {
  // As in vLLM, the role chunk is written with the first token: an event with choices and no content.
  await using srv = await dialServer({ ttft_ms: 20, itl_ms: 5, tokens: 3, clock });
  const r = await probe(srv.baseUrl, chat, { clock });
  assert.equal(r.ok, true, r.error_message);
  assertOrdered(r);
  assert.equal(r.chunk_ms.length, 3, "the role chunk is not a content chunk");
  assert.equal(r.output_chars, textOf(3).length);
  assert.equal(r.t_first_choice_ms, r.t_first_event_ms);
  assert.equal(r.cached_tokens, undefined, "no prompt_tokens_details: cached tokens unknown, not 0");
  const body = srv.truth(r.request_id)!.body;
  assert.deepEqual(body.messages, [{ role: "user", content: "hello world" }]);
  assert.equal(srv.truth(r.request_id)!.path, "/v1/chat/completions");
});

Deno.test("the request carries streaming, usage, sampling options, x-request-id and extra headers", async () => {
  await using srv = await dialServer({ tokens: 2, clock });
  const req: ProbeRequest = {
    ...completions,
    prompt: [1, 2, 3, 4],
    min_tokens: 2,
    ignore_eos: true,
    seed: 7,
  };
  const r = await probe(srv.baseUrl + "/", req, {
    clock,
    request_id: "x-1",
    headers: { authorization: "Bearer k" },
  });
  assert.equal(r.ok, true, r.error_message);
  const truth = srv.truth("x-1")!;
  assert.equal(truth.path, "/v1/completions");
  assert.deepEqual(truth.body, {
    model: "dial-model",
    prompt: [1, 2, 3, 4],
    max_tokens: 5,
    min_tokens: 2,
    ignore_eos: true,
    temperature: 0,
    seed: 7,
    stream: true,
    stream_options: { include_usage: true },
  });
  assert.equal(truth.headers["x-request-id"], "x-1");
  assert.equal(truth.headers["authorization"], "Bearer k");
  assert.equal(r.prompt_tokens, 4, "token-id prompts count their ids");
});

Deno.test("token ids sent to chat are a harness error (thrown), not a request failure", () => {
  assert.throws(() => requestBody({ ...chat, prompt: [1, 2] }), /chat takes text/);
  assert.equal(requestBody({ ...chat, temperature: 0.7 }).temperature, 0.7);
});

interface Case {
  name: string;
  fault?: DialFault;
  headers_delay_ms?: number;
  timeout_ms?: number;
  abort_after_ms?: number;
  kind: ErrorKind;
  message: RegExp;
  chunks: number;
}

const cases: Case[] = [
  {
    name: "HTTP 500",
    fault: { kind: "http_error" },
    kind: "http_status",
    message: /HTTP 500: Dialled internal/,
    chunks: 0,
  },
  {
    name: "HTTP 401 with vLLM's string error",
    fault: { kind: "http_error", status: 401, body: { error: "Unauthorized" } },
    kind: "http_status",
    message: /HTTP 401: Unauthorized/,
    chunks: 0,
  },
  {
    name: "stalled stream",
    fault: { kind: "stall", after_tokens: 2 },
    timeout_ms: 300,
    kind: "timeout",
    message: /300 ms/,
    chunks: 2,
  },
  {
    name: "slow headers",
    headers_delay_ms: 2_000,
    timeout_ms: 150,
    kind: "timeout",
    message: /150 ms/,
    chunks: 0,
  },
  {
    name: "dropped connection",
    fault: { kind: "drop", after_tokens: 2 },
    kind: "connection",
    message: /mid-stream/,
    chunks: 2,
  },
  {
    name: "mid-stream error event",
    fault: { kind: "error_event", after_tokens: 1, message: "engine died" },
    kind: "stream_error",
    message: /engine died/,
    chunks: 1,
  },
  {
    name: "malformed JSON",
    fault: { kind: "bad_json", after_tokens: 1 },
    kind: "bad_stream",
    message: /not JSON/,
    chunks: 1,
  },
  {
    name: "JSON instead of SSE",
    fault: { kind: "not_sse" },
    kind: "bad_stream",
    message: /text\/event-stream/,
    chunks: 0,
  },
  { name: "empty stream", fault: { kind: "empty" }, kind: "empty", message: /without content/, chunks: 0 },
  {
    name: "caller abort",
    headers_delay_ms: 2_000,
    abort_after_ms: 50,
    kind: "aborted",
    message: /aborted/,
    chunks: 0,
  },
];

for (
  const [endpoint, transport] of [
    ["completions", "fetch"],
    ["chat", "fetch"],
    ["completions", "socket"],
    ["chat", "socket"],
  ] as const
) {
  const via = transport === "fetch" ? "" : " (raw-socket transport)";
  Deno.test(`every failure on ${endpoint} is a record with its error kind, never a throw${via}`, async (t) => {
    for (const c of cases) {
      await t.step(c.name, async () => {
        await using srv = await dialServer({
          ttft_ms: 10,
          itl_ms: 5,
          tokens: 5,
          fault: c.fault,
          headers_delay_ms: c.headers_delay_ms,
          clock,
        });
        const signal = c.abort_after_ms === undefined ? undefined : AbortSignal.timeout(c.abort_after_ms);
        using pool = transport === "socket" ? new Http1Pool("127.0.0.1", srv.port) : undefined;
        const r = await probe(srv.baseUrl, { ...completions, endpoint }, {
          clock,
          timeout_ms: c.timeout_ms,
          signal,
          pool,
        });
        assert.equal(r.ok, false);
        assert.equal(r.error_kind, c.kind, r.error_message);
        assert.match(r.error_message!, c.message);
        assert.equal(r.chunk_ms.length, c.chunks);
        assert.ok(r.t_end_ms >= r.t_send_ms);
        if (c.kind === "http_status") {
          assert.equal(r.http_status, c.fault?.kind === "http_error" ? c.fault.status ?? 500 : 0);
        }
      });
    }
  });
}

Deno.test("a refused connection is a record", async () => {
  const srv = await dialServer({ clock });
  const url = srv.baseUrl;
  await srv.close();
  const r = await probe(url, completions, { clock, timeout_ms: 2_000 });
  assert.equal(r.ok, false);
  assert.equal(r.error_kind, "connection");
  assert.match(r.error_message!, /before the response/);
  assert.equal(r.t_headers_ms, undefined, "no headers: undefined, not 0");
  assert.equal(r.t_first_content_ms, undefined);
});

Deno.test("an already aborted signal yields an aborted record without a request", async () => {
  await using srv = await dialServer({ clock });
  const ac = new AbortController();
  ac.abort();
  const r = await probe(srv.baseUrl, completions, { clock, signal: ac.signal });
  assert.equal(r.error_kind, "aborted");
  assert.equal(srv.truths().length, 0);
});
