import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { chunkWriter } from "./openai_api.ts";
import { tokenChunks } from "./direct_stream.ts";
import type { FaultFlags } from "./faults.ts";
import { virtualClock } from "./runtime.ts";
import { serveSim, type SimHttp, simHttp } from "./server.ts";
import { serveHttp1 } from "./http1_server.ts";

const dec = new TextDecoder();

function cfg(faults: FaultFlags = {}) {
  return parseServeConfig({
    engine: "sim",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    max_model_len: 4096,
    sim: { faults },
  });
}

const serve = (http: SimHttp, faults: FaultFlags = {}) =>
  serveSim(cfg(faults), { port: 0, env: {}, http, clock: virtualClock(1_700_000_000_000) });

/** A body with the per-response parts (ids, created, arrival) made equal. */
const normal = (s: string) =>
  s.replaceAll(/"created":\d+/g, '"created":0').replaceAll(/"id":"[^"]*"/g, '"id":"x"');

Deno.test("a token chunk from pre-encoded parts has the chunk builder's bytes", () => {
  const h = { id: 'cmpl-1"q', created: 17, model: "Qwen/Qwen2.5-1.5B-Instruct" };
  for (const kind of ["completion", "chat"] as const) {
    const text = (id: number) => ["", " hi", 'q"\\\n', "é"][id];
    const parts = tokenChunks(kind, h, text);
    for (let id = 0; id < 4; id++) {
      const got = dec.decode(new Uint8Array(parts(id).flatMap((p) => [...p])));
      assert.equal(got, dec.decode(chunkWriter(kind, h).content(text(id), null)), `${kind} token ${id}`);
    }
  }
});

Deno.test("the raw-socket server streams the same events as Deno.serve", async () => {
  const bodies = [
    ["/v1/completions", { prompt: "hello there", max_tokens: 7, stream: true, ignore_eos: true }],
    ["/v1/completions", {
      prompt: [101, 102, 103],
      max_tokens: 5,
      stream: true,
      ignore_eos: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    }],
    ["/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 6,
      stream: true,
      ignore_eos: true,
      stream_options: { include_usage: true },
    }],
    ["/v1/completions", { prompt: "not streamed", max_tokens: 3, ignore_eos: true }],
  ] as const;
  const got: Record<SimHttp, string[]> = { socket: [], deno: [] };
  for (const http of ["socket", "deno"] as const) {
    await using srv = await serve(http);
    for (const [path, body] of bodies) {
      const r = await fetch(`${srv.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "same" },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 200);
      got[http].push(`${r.headers.get("content-type")}\n${normal(await r.text())}`);
    }
    const bad = await fetch(`${srv.url}/v1/completions`, { method: "POST", body: "{not json" });
    assert.equal(bad.status, 400);
    got[http].push(normal(await bad.text()));
    const missing = await fetch(`${srv.url}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  }
  assert.ok(got.socket[0].includes("data: [DONE]"));
  assert.equal(got.socket[0].match(/data: \{/g)?.length, 7);
  assert.deepEqual(got.socket, got.deno);
});

Deno.test("the raw-socket server: keep-alive, chunked request bodies, 100-continue, bad requests", async () => {
  await using srv = await serve("socket");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  const read = async (until: string) => {
    let s = "";
    const buf = new Uint8Array(65536);
    while (!s.includes(until)) {
      const n = await conn.read(buf);
      if (n === null) break;
      s += dec.decode(buf.subarray(0, n));
    }
    return s;
  };
  const enc = new TextEncoder();
  const json = JSON.stringify({ prompt: "hi", max_tokens: 2, ignore_eos: true });
  // Two requests on one connection; the second with a chunked body and Expect: 100-continue.
  await conn.write(enc.encode(`GET /health HTTP/1.1\r\nhost: x\r\n\r\n`));
  assert.match(await read("\r\n\r\n"), /^HTTP\/1\.1 200 OK\r\n[^]*content-length: 0\r\n/);
  await conn.write(enc.encode(
    `POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
      `expect: 100-continue\r\ntransfer-encoding: chunked\r\n\r\n`,
  ));
  assert.match(await read("\r\n\r\n"), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  const half = json.length >> 1;
  await conn.write(enc.encode(
    `${half.toString(16)}\r\n${json.slice(0, half)}\r\n${(json.length - half).toString(16)}\r\n${
      json.slice(half)
    }\r\n0\r\n\r\n`,
  ));
  const res = await read('"completion_tokens":2');
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(res, /"object":"text_completion"/);
  // A header V8's Headers rejects: a 400, and the server stays up for the next connection.
  const other = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await other.write(enc.encode(`GET /health HTTP/1.1\r\nbad name: x\r\n\r\n`));
  const buf = new Uint8Array(4096);
  const n = await other.read(buf);
  assert.match(dec.decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 400 Bad Request\r\n[^]*Malformed request/);
  other.close();
  assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  // A malformed request line: a 400 that says what to send, then the connection closes.
  await conn.write(enc.encode(`NONSENSE\r\n\r\n`));
  const bad = await read("\u0000never");
  assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n[^]*METHOD \/path HTTP\/1\.1/);
  conn.close();
});

Deno.test("raw-socket server faults: a drop cuts the body, a stall keeps it open until shutdown", async () => {
  {
    await using srv = await serve("socket", { drop_connection_rate: 1 });
    const r = await fetch(`${srv.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "hi", max_tokens: 20, stream: true, ignore_eos: true }),
    });
    assert.equal(r.status, 200);
    await assert.rejects(r.text());
  }
  const srv = await serve("socket", { stall_after_tokens: 2 });
  const r = await fetch(`${srv.url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ prompt: "hi", max_tokens: 20, stream: true, ignore_eos: true }),
  });
  const reader = r.body!.getReader();
  let text = "";
  while ((text.match(/data: \{/g) ?? []).length < 2) text += dec.decode((await reader.read()).value);
  const next = reader.read();
  const quiet = await Promise.race([
    next.then(() => "data"),
    new Promise((t) => setTimeout(t, 200, "quiet")),
  ]);
  assert.equal(quiet, "quiet", "nothing after the stall");
  await srv.shutdown();
  const end = await next;
  assert.ok(end.done || !dec.decode(end.value).includes("data: {"), "the stream ends at shutdown");
  await reader.cancel().catch(() => {});
});

Deno.test("raw-socket server: a client that goes away aborts its request", async () => {
  await using srv = await serve("socket");
  const ac = new AbortController();
  const r = await fetch(`${srv.url}/v1/completions`, {
    method: "POST",
    headers: { "x-request-id": "gone" },
    body: JSON.stringify({ prompt: "hi", max_tokens: 4000, stream: true, ignore_eos: true }),
    signal: ac.signal,
  });
  const reader = r.body!.getReader();
  await reader.read();
  assert.equal(srv.sim.runtime.isRunning("cmpl-gone"), true);
  ac.abort();
  for (let i = 0; i < 100 && srv.sim.runtime.isRunning("cmpl-gone"); i++) {
    await new Promise((t) => setTimeout(t, 10));
  }
  assert.equal(srv.sim.runtime.isRunning("cmpl-gone"), false);
  assert.equal(srv.sim.runtime.groundTruth("cmpl-gone")?.finish_reason, "abort");
});

Deno.test("a handler that throws becomes the onError response; the server binds 127.0.0.1", async () => {
  const s = serveHttp1(() => {
    throw new Error("boom");
  }, { port: 0, onError: () => new Response("sorry", { status: 500 }) });
  const r = await fetch(`http://127.0.0.1:${s.port}/x`);
  assert.equal(r.status, 500);
  assert.equal(await r.text(), "sorry");
  await s.shutdown();
  await s.finished;
});

Deno.test("SERVELAB_SIM_HTTP picks the server; anything else names the choices", () => {
  assert.equal(simHttp(undefined, {}), "socket");
  assert.equal(simHttp(undefined, { SERVELAB_SIM_HTTP: "deno" }), "deno");
  assert.equal(simHttp("socket", { SERVELAB_SIM_HTTP: "deno" }), "socket");
  assert.throws(() => simHttp(undefined, { SERVELAB_SIM_HTTP: "h2" }), /'socket' \(default\) or 'deno'/);
});
