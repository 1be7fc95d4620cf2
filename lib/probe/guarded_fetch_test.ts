// Redirects never take the lab off the host: each connection the lab makes to a server under test is
// checked hop by hop against the loopback guard (guarded_fetch.ts), and a measured request never follows.
import assert from "node:assert/strict";
import { attachExternal } from "../engine/external.ts";
import { parseServeConfig } from "../engine/config.ts";
import { runHealth } from "../health/check.ts";
import { defaultThresholds } from "../health/thresholds.ts";
import { scrapeMetrics } from "../scrape/scrape.ts";
import { createClock } from "./clock.ts";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";
import { Http1Pool } from "./http1.ts";
import { tokenize } from "./prompts.ts";
import { probe } from "./stream.ts";

const OFF_HOST = "http://10.0.0.5:8000";

/** A loopback server answering every request with `status` and Location `to` + the request's path. */
function redirector(to: string, status = 307) {
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(null, { status, headers: { location: to + new URL(req.url).pathname } }),
  );
  return {
    url: `http://127.0.0.1:${srv.addr.port}`,
    port: srv.addr.port,
    [Symbol.asyncDispose]: () => srv.shutdown(),
  };
}

/** Asserts `p` rejects, within 2 s (no connection attempt to the off-host address), naming both URLs. */
async function refused(p: Promise<unknown>, from: string) {
  const t0 = performance.now();
  const err = await p.then(() => undefined, (e: Error) => e);
  assert.ok(err instanceof Error, "expected a refusal");
  assert.match(err.message, /Refusing to follow a redirect \(30\d\) from /);
  assert.ok(err.message.includes(from), err.message);
  assert.ok(err.message.includes("10.0.0.5"), err.message);
  assert.match(err.message, /not loopback/);
  assert.ok(performance.now() - t0 < 2000, "refused before any connection off the host");
}

Deno.test("guardedFetch refuses a redirect off the host, for every redirect status, before connecting", async () => {
  for (const status of [301, 302, 303, 307, 308]) {
    await using r = redirector(OFF_HOST, status);
    await refused(guardedFetch(`${r.url}/v1/models`), r.url);
    const e = await guardedFetch(`${r.url}/x`).catch((e) => e);
    assert.ok(e instanceof RedirectRefusedError);
    assert.equal(e.to, `${OFF_HOST}/x`);
  }
});

Deno.test("guardedFetch follows a loopback redirect, drops Authorization across origins, and caps the hops", async () => {
  let seen: string | null = "unset";
  const target = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen = req.headers.get("authorization");
    return new Response("ok");
  });
  try {
    await using r = redirector(`http://127.0.0.1:${target.addr.port}`);
    const res = await guardedFetch(`${r.url}/v1/models`, { headers: { authorization: "Bearer k" } });
    assert.equal(await res.text(), "ok");
    assert.equal(seen, null, "Authorization is not carried to another origin");
  } finally {
    await target.shutdown();
  }
  const loop = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(null, { status: 302, headers: { location: new URL(req.url).pathname } }),
  );
  try {
    const e = await guardedFetch(`http://127.0.0.1:${loop.addr.port}/a`).catch((e) => e);
    assert.ok(e instanceof RedirectRefusedError);
    assert.match(e.message, /redirected more than 5 times/);
  } finally {
    await loop.shutdown();
  }
});

Deno.test("a redirect off the host is refused by external attach, scrape, tokenize and health", async () => {
  await using r = redirector(OFF_HOST);
  await refused(attachExternal(parseServeConfig({ engine: "external", model: "m", url: r.url })), r.url);
  await refused(scrapeMetrics(r.url), r.url);
  await refused(tokenize(r.url, "m", "hello"), r.url);
  const t = defaultThresholds();
  t.canary = { concurrency: 1, requests: 1, prompt_tokens: 8, max_tokens: 2, timeout_s: 5 };
  const h = await runHealth(r.url, t);
  assert.equal(h.kind, "failed");
  if (h.kind !== "failed") return;
  assert.equal(h.failure, "redirect");
  assert.match(h.error, /Refusing to follow a redirect \(307\).*10\.0\.0\.5/);
});

Deno.test("a measured request never follows a redirect: a failed row naming the Location, on both transports", async () => {
  await using r = redirector("http://admin:pw@10.0.0.5:8000");
  const req = { endpoint: "completions" as const, model: "m", prompt: "hi", max_tokens: 2 };
  using pool = new Http1Pool("127.0.0.1", r.port);
  for (const opts of [{}, { pool }]) {
    const rec = await probe(r.url, req, { clock: createClock(), timeout_ms: 2000, ...opts });
    assert.equal(rec.ok, false);
    assert.equal(rec.error_kind, "http_status");
    assert.equal(rec.http_status, 307);
    assert.match(
      rec.error_message!,
      /a redirect to http:\/\/10\.0\.0\.5:8000\/v1\/completions, not followed/,
    );
    assert.ok(!rec.error_message!.includes("pw"), "userinfo stripped from the message");
  }
});
