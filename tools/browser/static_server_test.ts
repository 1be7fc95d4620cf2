import assert from "node:assert/strict";
import { join } from "node:path";
import { serveFolder } from "./static_server.ts";

Deno.test("the report server serves the folder's files with their type and refuses paths outside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "servelab-static-" });
  try {
    await Deno.writeTextFile(join(dir, "index.html"), "<p>hi</p>");
    await Deno.writeTextFile(join(dir, "a b.csv"), "x\n1\n");
    await using srv = serveFolder(dir);
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(srv.url);
    assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(await index.text(), "<p>hi</p>");
    const csv = await fetch(srv.url + "a%20b.csv");
    assert.equal(await csv.text(), "x\n1\n");
    const missing = await fetch(srv.url + "nope.html");
    await missing.body?.cancel();
    assert.equal(missing.status, 404);
    const outside = await fetch(srv.url + "..%2F..%2Fetc%2Fpasswd");
    await outside.body?.cancel();
    assert.equal(outside.status, 403);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
