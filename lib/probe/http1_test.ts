import assert from "node:assert/strict";
import { Http1Pool, http1Request } from "./http1.ts";

const enc = new TextEncoder();

/**
 * A raw TCP server answering every request on a connection with a chunked body written in the given
 * pieces (so framing splits across reads as the test wants); counts connections accepted.
 */
function rawServer(pieces: string[]) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  let closed = false;
  const conns: Deno.Conn[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      accepted++;
      conns.push(conn);
      (async () => {
        const buf = new Uint8Array(4096);
        let text = "";
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) return;
            text += new TextDecoder().decode(buf.subarray(0, n));
            const end = text.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
            if (text.length < end + 4 + length) continue;
            text = text.slice(end + 4 + length);
            await conn.write(enc.encode(
              "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
            ));
            for (const p of pieces) {
              await conn.write(enc.encode(p));
              await new Promise((r) => setTimeout(r, 2));
            }
          }
        } catch { /* closed by the test */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    async close() {
      if (closed) return await done;
      closed = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await done;
    },
  };
}

async function readAll(res: Awaited<ReturnType<typeof http1Request>>): Promise<string> {
  const dec = new TextDecoder();
  let out = "";
  for (let b = await res.read(); b !== null; b = await res.read()) out += dec.decode(b, { stream: true });
  return out;
}

Deno.test("chunked framing split anywhere across reads yields exactly the body, and the connection is reused", async () => {
  const body = "data: one\n\ndata: two\n\n";
  // Sizes, CRLFs and data cut mid-way: "b\r\ndata: one\n\n\r\n" + "b\r\ndata: two\n\n\r\n" + "0\r\n\r\n".
  const framed = "b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n";
  const srv = rawServer([
    framed.slice(0, 1),
    framed.slice(1, 5),
    framed.slice(5, 17),
    framed.slice(17, 30),
    framed.slice(30),
  ]);
  const pool = new Http1Pool("127.0.0.1", srv.port);
  try {
    for (let i = 0; i < 3; i++) {
      const res = await http1Request(pool, "/v1/completions", { "content-type": "application/json" }, "{}");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      assert.equal(await readAll(res), body);
      assert.ok(res.read_ms !== undefined);
    }
    assert.equal(srv.accepted, 1, "three requests in sequence share one keep-alive connection");
  } finally {
    pool.close();
    await srv.close();
  }
});

Deno.test("a body cut off before its last chunk is an error, not a short success", async () => {
  const srv = rawServer(["b\r\ndata: one\n\n\r\n"]);
  const pool = new Http1Pool("127.0.0.1", srv.port);
  try {
    const res = await http1Request(pool, "/v1/completions", {}, "{}");
    const first = await res.read();
    assert.ok(first !== null);
    // The server writes nothing more; closing its side ends the body early.
    setTimeout(() => srv.close(), 20);
    await assert.rejects(async () => {
      while (await res.read() !== null) { /* drain */ }
    }, /closed before the response body ended/);
  } finally {
    pool.close();
    await srv.close();
  }
});
