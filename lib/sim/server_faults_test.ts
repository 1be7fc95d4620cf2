import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import type { FaultFlags } from "./faults.ts";
import { createSim } from "./instance.ts";
import { virtualClock } from "./runtime.ts";
import { createSimHandler } from "./server.ts";

function setup(faults: FaultFlags, onCrash?: () => void) {
  const cfg = parseServeConfig({
    engine: "sim",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    max_model_len: 4096,
    sim: { faults },
  });
  const sim = createSim(cfg, { clock: virtualClock(1_700_000_000_000), env: {}, onCrash });
  return { sim, h: createSimHandler(sim), [Symbol.asyncDispose]: () => sim.close() };
}

const post = (h: (r: Request) => Promise<Response>, body: unknown, signal?: AbortSignal) =>
  h(new Request("http://sim/v1/completions", { method: "POST", body: JSON.stringify(body), signal }));

/** Resolves with the value, or "pending" if nothing came within ms (the virtual clock runs far faster). */
function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  let id: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(id)),
    new Promise<"pending">((r) => (id = setTimeout(() => r("pending"), ms))),
  ]);
}

/** Reads SSE content events until the stream ends, errors or goes quiet. */
async function readEvents(body: ReadableStream<Uint8Array>, quiet_ms = 150) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    let r;
    try {
      r = await within(reader.read(), quiet_ms);
    } catch (e) {
      return { events: text.split("\n\n").filter(Boolean), end: "error" as const, error: e, reader };
    }
    if (r === "pending") {
      return { events: text.split("\n\n").filter(Boolean), end: "stalled" as const, reader };
    }
    if (r.done) return { events: text.split("\n\n").filter(Boolean), end: "done" as const, reader };
    text += dec.decode(r.value);
  }
}

Deno.test("--sim-http-500-rate 1 answers every generation request with a 500 error body", async () => {
  await using s = setup({ http_500_rate: 1 });
  const r = await post(s.h, { prompt: "hi", max_tokens: 2 });
  assert.equal(r.status, 500);
  const b = await r.json();
  assert.equal(b.error.code, 500);
  assert.equal(b.error.type, "InternalServerError");
  assert.match(b.error.message, /--sim-http-500-rate/);
  assert.equal((await s.h(new Request("http://sim/health"))).status, 200);
});

Deno.test("--sim-stall-after-tokens stops a stream after N tokens and keeps it open", async () => {
  await using s = setup({ stall_after_tokens: 2 });
  const r = await post(s.h, { prompt: "hi", max_tokens: 50, stream: true });
  assert.equal(r.status, 200);
  const got = await readEvents(r.body!);
  assert.equal(got.end, "stalled");
  assert.equal(got.events.length, 2);
  assert.ok(!got.events.some((e) => e.includes("[DONE]")));
  assert.equal(s.sim.runtime.inFlight, 0, "the engine dropped the stalled request");
  await got.reader.cancel();
});

Deno.test("a stalled non-streamed request never answers until the client gives up", async () => {
  await using s = setup({ stall_after_tokens: 1 });
  const ac = new AbortController();
  const p = post(s.h, { prompt: "hi", max_tokens: 10 }, ac.signal);
  assert.equal(await within(p, 150), "pending");
  ac.abort();
  assert.notEqual(await within(p, 1000), "pending");
});

Deno.test("--sim-drop-connection-rate 1 cuts every stream part-way", async () => {
  await using s = setup({ drop_connection_rate: 1 });
  for (let i = 0; i < 3; i++) {
    const r = await post(s.h, { prompt: "hi", max_tokens: 8, stream: true });
    const got = await readEvents(r.body!);
    assert.equal(got.end, "error");
    assert.ok(got.events.length >= 1 && got.events.length <= 7, `${got.events.length} events before the cut`);
    assert.ok(!got.events.some((e) => e.includes("[DONE]")));
  }
  const r = await post(s.h, { prompt: "hi", max_tokens: 8 });
  await assert.rejects(() => r.text());
});

Deno.test("--sim-crash-after-requests kills the engine after the Nth request", async () => {
  let crashed = 0;
  await using s = setup({ crash_after_requests: 2 }, () => crashed++);
  for (let i = 0; i < 2; i++) {
    const r = await post(s.h, { prompt: "hi", max_tokens: 2 });
    assert.equal(r.status, 200, "requests before the crash are served in full");
    assert.equal((await r.json()).usage.completion_tokens, 2);
  }
  assert.equal((await s.h(new Request("http://sim/health"))).status, 503);
  const dead = await post(s.h, { prompt: "hi", max_tokens: 2 });
  assert.equal(dead.status, 500);
  await dead.body?.cancel();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(crashed, 1, "the host's crash hook ran once");
});
