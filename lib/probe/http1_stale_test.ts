import assert from "node:assert/strict";
import { Http1Pool, http1Request } from "./http1.ts";

/**
 * A server that answers each request with a complete keep-alive response, then closes the connection
 * without saying so (llama.cpp's server does this after streamed responses).
 */
function closingServer(): { port: number; served: () => number; close: () => void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let served = 0;
  (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          const n = await conn.read(buf);
          if (n === null) return;
          served++;
          const body = "ok";
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          ));
          await new Promise((r) => setTimeout(r, 20));
        } catch {
          /* client went away */
        } finally {
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, served: () => served, close: () => listener.close() };
}

Deno.test("http1: every stale idle connection is dropped in turn; the request goes out on a new one", async () => {
  const server = closingServer();
  const pool = new Http1Pool("127.0.0.1", server.port);
  try {
    // Three concurrent requests leave three idle connections that the server then closes.
    const first = await Promise.all([0, 1, 2].map(() => http1Request(pool, "/x", {}, "{}")));
    assert.deepEqual(await Promise.all(first.map((r) => r.text())), ["ok", "ok", "ok"]);
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 3; i++) {
      const res = await http1Request(pool, "/x", {}, "{}");
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "ok");
    }
    assert.equal(server.served(), 6);
  } finally {
    pool.close();
    server.close();
  }
});
