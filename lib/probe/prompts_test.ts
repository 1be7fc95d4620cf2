import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { serveSim } from "../sim/server.ts";
import { promptOfTokens, seededText, sharedPrefixPrompts, tokenize } from "./prompts.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

Deno.test("seededText is repeatable for a seed and differs between seeds from the start", () => {
  assert.equal(seededText(4, 50), seededText(4, 50));
  assert.notEqual(seededText(4, 50).slice(0, 12), seededText(5, 50).slice(0, 12));
});

Deno.test("promptOfTokens builds exact lengths through the engine's /tokenize", async () => {
  await using srv = await serveSim(parseServeConfig({ engine: "sim", model: MODEL }), { port: 0 });
  for (const n of [1, 17, 256, 2048]) {
    const ids = await promptOfTokens(srv.url, MODEL, n, { seed: n });
    assert.equal(ids.length, n);
  }
  const a = await promptOfTokens(srv.url, MODEL, 64, { seed: 1 });
  const b = await promptOfTokens(srv.url, MODEL, 64, { seed: 2 });
  assert.deepEqual(a, await promptOfTokens(srv.url, MODEL, 64, { seed: 1 }));
  assert.notEqual(a[0] === b[0] && a[1] === b[1] && a[2] === b[2], true);
  const shared = await sharedPrefixPrompts(srv.url, MODEL, a, 16, 3);
  assert.equal(shared.length, 3);
  for (const p of shared) assert.deepEqual(p.slice(0, 64), a);
  assert.notDeepEqual(shared[0].slice(64), shared[1].slice(64));
});

Deno.test("tokenize names the URL and the need when the endpoint is missing", async () => {
  await using srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("nope", { status: 404 }),
  );
  const url = `http://127.0.0.1:${srv.addr.port}`;
  await assert.rejects(tokenize(url, MODEL, "x"), /no \/tokenize \(.*HTTP 404\).*Set SERVELAB_TOKENIZER=/);
  await assert.rejects(promptOfTokens(url, MODEL, 0), /positive integer/);
});
