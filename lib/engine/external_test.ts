import assert from "node:assert/strict";
import { parseServeConfig } from "./config.ts";
import { isLoopbackHost } from "./external.ts";
import { launch } from "./launch.ts";

/** An in-process server on a free loopback port; disposing it shuts it down. */
function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const external = (url: string, model: string, extra: Record<string, unknown> = {}) =>
  parseServeConfig({ engine: "external", url, model, ...extra });

Deno.test("external: an OpenAI-compatible server with the model is attached, nothing invented", async () => {
  await using srv = serve((req) =>
    new URL(req.url).pathname === "/v1/models"
      ? Response.json({ object: "list", data: [{ id: "other" }, { id: "qwen-small" }] })
      : new Response("no", { status: 404 })
  );
  await using engine = await launch(external(`${srv.url}/v1/`, "qwen-small"));
  assert.equal(engine.kind, "external");
  assert.equal(engine.baseUrl, srv.url, "a trailing /v1 is dropped");
  assert.equal(engine.model, "qwen-small");
  assert.equal(engine.startup, undefined);
  assert.equal(engine.ready_s, undefined);
  assert.equal(engine.pid, undefined);
  assert.deepEqual(engine.headers(), {});
});

Deno.test("external: a model that is not served is an error listing the served ids", async () => {
  await using srv = serve(() => Response.json({ data: [{ id: "a" }, { id: "b" }] }));
  await assert.rejects(
    launch(external(srv.url, "c")),
    new RegExp(`External engine at ${srv.url} does not serve model 'c'\\. It serves: 'a', 'b'\\.`),
  );
  await using named = await launch(external(srv.url, "hf/id", { served_model_name: "b" }));
  assert.equal(named.model, "b", "served_model_name is the name that must be listed");
});

Deno.test("external: a non-OpenAI server is an error naming the URL, what came back and what was expected", async () => {
  await using html = serve(() => new Response("<html><body>Grafana</body></html>", { status: 200 }));
  await assert.rejects(
    launch(external(html.url, "m")),
    (e: Error) =>
      e.message.includes(`External engine at ${html.url} is not OpenAI-compatible`) &&
      e.message.includes(`GET ${html.url}/v1/models returned 200`) &&
      e.message.includes('"<html><body>Grafana</body></html>"') &&
      e.message.includes('Expected 200 with JSON {"data": [{"id": ...}]}'),
  );
  await using missing = serve(() => new Response("Not Found", { status: 404, statusText: "Not Found" }));
  await assert.rejects(launch(external(missing.url, "m")), /returned 404 Not Found, body "Not Found"/);
});

Deno.test("external: non-loopback hosts are refused unless allow_remote; loopback forms are recognised", async () => {
  await assert.rejects(
    launch(external("http://10.20.30.40:8000", "m")),
    /Refusing external engine at http:\/\/10\.20\.30\.40:8000: host '10\.20\.30\.40' is not loopback\. Pass \{ allow_remote: true \}/,
  );
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "::1"]) assert.ok(isLoopbackHost(h), h);
  for (const h of ["10.0.0.1", "example.com", "128.0.0.1", "0.0.0.0"]) assert.ok(!isLoopbackHost(h), h);
});

Deno.test("external: an unreachable URL says so and how to fix it", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    launch(external(`http://127.0.0.1:${port}`, "m")),
    new RegExp(
      `Cannot reach external engine at http://127\\.0\\.0\\.1:${port}: .*Start the server or fix ServeConfig\\.url`,
    ),
  );
});

Deno.test("external: the API key is sent as a bearer header and never appears in errors", async () => {
  const key = `sk-ext-${crypto.randomUUID()}`;
  Deno.env.set("SERVELAB_TEST_EXT_KEY", key);
  try {
    await using srv = serve((req) =>
      req.headers.get("authorization") === `Bearer ${key}`
        ? Response.json({ data: [{ id: "m" }] })
        : Response.json({ error: `Unauthorized, you sent ${req.headers.get("authorization")}` }, {
          status: 401,
        })
    );
    await using engine = await launch(external(srv.url, "m", { api_key_env: "SERVELAB_TEST_EXT_KEY" }));
    assert.deepEqual(engine.headers(), { Authorization: `Bearer ${key}` });
    await using echo = serve(() => new Response(`bad key ${key}`, { status: 403 }));
    await assert.rejects(
      launch(external(echo.url, "m", { api_key_env: "SERVELAB_TEST_EXT_KEY" })),
      (e: Error) => !e.message.includes(key) && e.message.includes("[REDACTED]"),
    );
  } finally {
    Deno.env.delete("SERVELAB_TEST_EXT_KEY");
  }
});
