import assert from "node:assert/strict";
import { metricsUrl, scrapeMetrics } from "./scrape.ts";

const V0_22 = Deno.readTextFileSync(new URL("./testdata/vllm_v0_22_metrics.txt", import.meta.url));
const PROM = "text/plain; version=0.0.4; charset=utf-8";

/** An in-process server on 127.0.0.1:0; `handler` answers every request. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  body: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await body(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("a scrape parses the server's /metrics and times itself on the given clock", async () => {
  let paths: string[] = [];
  await withServer((req) => {
    paths = [...paths, new URL(req.url).pathname];
    return new Response(V0_22, { headers: { "content-type": PROM } });
  }, async (base) => {
    let tick = 0;
    const clock = { now: () => (tick += 1000) };
    const scrape = await scrapeMetrics(base, { clock });
    assert.deepEqual(paths, ["/metrics"], "a base URL gets /metrics appended");
    assert.equal(scrape.url, `${base}/metrics`);
    assert.equal(scrape.t_ms, 1000);
    assert.equal(scrape.duration_ms, 1000);
    assert.equal(scrape.metrics.server, "vllm");
    assert.equal(scrape.metrics.gauges.running, 9);
    assert.ok(scrape.families.has("vllm:time_to_first_token_seconds"));
  });
});

Deno.test("metricsUrl appends /metrics only to a bare server URL", () => {
  assert.equal(metricsUrl("http://127.0.0.1:8000"), "http://127.0.0.1:8000/metrics");
  assert.equal(metricsUrl("http://127.0.0.1:8000/"), "http://127.0.0.1:8000/metrics");
  assert.equal(metricsUrl("http://127.0.0.1:9400/custom/metrics"), "http://127.0.0.1:9400/custom/metrics");
});

Deno.test("an HTTP error is an error naming the URL and the status", async () => {
  await withServer(() => new Response("Not Found", { status: 404 }), async (base) => {
    await assert.rejects(
      scrapeMetrics(`${base}/metrics`),
      (e: Error) => e.message.includes(`${base}/metrics`) && e.message.includes("HTTP 404"),
    );
  });
});

Deno.test("an endpoint that does not serve Prometheus text is an error naming the URL", async () => {
  await withServer((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/html") {
      return new Response("<html><body>hi</body></html>", { headers: { "content-type": "text/html" } });
    }
    if (path === "/json") return Response.json({ object: "list", data: [] });
    if (path === "/prose") return new Response("Welcome to the model server!\n");
    return new Response("");
  }, async (base) => {
    for (const path of ["/html", "/json", "/prose", "/empty"]) {
      await assert.rejects(scrapeMetrics(`${base}${path}`), (e: Error) => {
        assert.match(e.message, /does not serve Prometheus text/);
        assert.ok(e.message.includes(`${base}${path}`), e.message);
        return true;
      });
    }
  });
});

Deno.test("a server that never answers fails after timeout_ms instead of hanging", async () => {
  const { promise: release, resolve } = Promise.withResolvers<void>();
  await withServer(async () => {
    await release;
    return new Response(V0_22);
  }, async (base) => {
    try {
      await assert.rejects(
        scrapeMetrics(base, { timeout_ms: 100 }),
        /no complete response within 100 ms/,
      );
    } finally {
      resolve();
    }
  });
});

Deno.test("an unreachable server is an error naming the URL", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there any more
  await assert.rejects(
    scrapeMetrics(`http://127.0.0.1:${port}`, { timeout_ms: 2000 }),
    (e: Error) => e.message.includes(`http://127.0.0.1:${port}/metrics`) && /is running/.test(e.message),
  );
});
