import assert from "node:assert/strict";
import { inNotebook, show, toBundle, toText } from "./display.ts";
import { md } from "./markdown.ts";
import { displayable } from "./bundle.ts";

Deno.test("outside a notebook show() prints a text rendering of each item", async () => {
  assert.equal(inNotebook(), false);
  const logged: unknown[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    await show(md`**${3}** rows`, undefined, "plain", displayable({ "text/html": "<p>a &amp; b</p>" }), {
      x: 1,
    });
  } finally {
    console.log = orig;
  }
  assert.deepEqual(logged, ["**3** rows", "plain", "a & b", "{ x: 1 }"]);
});

Deno.test("toBundle turns elements into HTML and everything else into text", () => {
  assert.deepEqual(toBundle({ outerHTML: "<b>x</b>" }), { "text/html": "<b>x</b>", "text/plain": "x" });
  assert.deepEqual(toBundle(42), { "text/plain": "42" });
  assert.equal(toText(displayable({ "text/markdown": "# t" })), "# t");
});
