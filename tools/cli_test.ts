import assert from "node:assert/strict";
import { dispatch, VERBS } from "./cli.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

Deno.test("an unknown verb prints the usage with the verb list and exits 2", async () => {
  const c = capture();
  assert.equal(await dispatch(["frobnicate"], c.io), 2);
  assert.match(c.err[0], /^servelab: unknown verb 'frobnicate'\./);
  for (const v of Object.keys(VERBS)) assert.match(c.err[0], new RegExp(`\\n  ${v} +\\S`));
  assert.equal(await dispatch(["toString"], c.io), 2, "object prototype names are not verbs");
});

Deno.test("help prints the usage and exits 0; no verb exits 2", async () => {
  const c = capture();
  assert.equal(await dispatch(["help"], c.io), 0);
  assert.match(c.out[0], /Usage: \.\/servelab <verb>/);
  assert.equal(await dispatch([], c.io), 2);
});

Deno.test("every verb in the table loads a module with main()", async () => {
  for (const [verb, { load }] of Object.entries(VERBS)) {
    assert.equal(typeof (await load()).main, "function", verb);
  }
});
