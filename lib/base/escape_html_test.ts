import assert from "node:assert/strict";
import { escapeHtml } from "./escape_html.ts";

Deno.test("escapeHtml escapes the five characters markup gives meaning to, ampersand first", () => {
  assert.equal(
    escapeHtml(`<a href="x">Tom & Jerry's</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;",
  );
  assert.equal(escapeHtml("&lt;"), "&amp;lt;", "an existing entity is escaped, not kept");
  assert.equal(escapeHtml(42), "42");
});
