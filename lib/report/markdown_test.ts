import assert from "node:assert/strict";
import { code, escapeMarkdown, md, rawMd } from "./markdown.ts";
import { $display } from "./bundle.ts";

Deno.test("md escapes HTML and Markdown in interpolations but keeps the template's markup", () => {
  const server = `<img src=x onerror=alert(1)> [click](javascript:x) | *bold*`;
  const m = md`**model**: ${server}`;
  assert.ok(m.text.startsWith("**model**: "));
  assert.ok(!m.text.includes("<img"), m.text);
  assert.ok(m.text.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(m.text.includes("\\[click\\](javascript:x) \\| \\*bold\\*"));
  assert.equal(m.plain, `**model**: ${server}`);
  assert.deepEqual(m[$display](), { "text/markdown": m.text, "text/plain": m.plain });
});

Deno.test("md formats numbers, undefined and arrays, and nests trusted markdown", () => {
  assert.equal(md`${1 / 3} ms`.text, "0.333333 ms");
  assert.equal(md`${undefined}`.text, "n/a");
  assert.equal(md`${["a_b", 2]}`.text, "a\\_b, 2");
  const inner = md`**${"<x>"}**`;
  assert.equal(md`> ${inner} and ${code("ttft_ms<")}`.text, "> **&lt;x&gt;** and <code>ttft_ms&lt;</code>");
  assert.equal(md`${rawMd("| a |")}`.text, "| a |");
});

Deno.test("escapeMarkdown keeps apostrophes readable and still neutralises tags and markup", () => {
  assert.equal(escapeMarkdown("model's max len"), "model's max len");
  assert.equal(
    escapeMarkdown("<script>alert('x')</script> # *b*"),
    "&lt;script&gt;alert('x')&lt;/script&gt; \\# \\*b\\*",
  );
  assert.equal(escapeMarkdown("a & b"), "a &amp; b");
});
