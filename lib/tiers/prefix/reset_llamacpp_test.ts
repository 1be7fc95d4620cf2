import assert from "node:assert/strict";
import { prefixResetCache } from "./engines.ts";

/** A llama.cpp-like server: no /reset_prefix_cache, two slots, erase answering `eraseStatus`. */
function fakeLlama(eraseStatus: number) {
  const erased: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    if (u.pathname === "/slots" && req.method === "GET") return Response.json([{ id: 0 }, { id: 1 }]);
    const m = u.pathname.match(/^\/slots\/(\d+)$/);
    if (m && req.method === "POST" && u.searchParams.get("action") === "erase") {
      erased.push(m[1]);
      return new Response("{}", { status: eraseStatus });
    }
    return new Response("not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, erased, server };
}

Deno.test("prefixResetCache on llama.cpp's server: no reset route, so every slot is erased", async () => {
  const ok = fakeLlama(200);
  try {
    assert.equal(await prefixResetCache(ok.url), true);
    assert.deepEqual(ok.erased, ["0", "1"]);
  } finally {
    await ok.server.shutdown();
  }
  const refused = fakeLlama(501); // started without --slot-save-path
  try {
    assert.equal(
      await prefixResetCache(refused.url),
      false,
      "an erase refused is a failed reset, not a silent one",
    );
  } finally {
    await refused.server.shutdown();
  }
});
