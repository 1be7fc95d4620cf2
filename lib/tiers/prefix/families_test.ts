import assert from "node:assert/strict";
import { loadPrefixFamilies, parsePrefixFamilies } from "./families.ts";

const PREFIX = "You are a helpful assistant. ".repeat(10);
const line = (o: Record<string, unknown>) =>
  JSON.stringify({ family: "a", kind: "document", title: "t", prefix: PREFIX, suffixes: ["q1", "q2"], ...o });

Deno.test("the shipped data file holds families of long prefixes and short suffixes", async () => {
  const fams = await loadPrefixFamilies();
  assert.ok(fams.length >= 4);
  assert.ok(fams.some((f) => f.kind === "system_prompt") && fams.some((f) => f.kind === "document"));
  for (const f of fams) {
    const longest = Math.max(...f.suffixes.map((s) => s.length));
    assert.ok(f.prefix.length > 10 * longest, `${f.family}: prefix should dwarf the suffixes`);
  }
  assert.equal(new Set(fams.map((f) => f.family)).size, fams.length);
});

Deno.test("a malformed JSON line is named by its line number", () => {
  const text = `${line({})}\n\n{"family": "b", oops}\n`;
  assert.throws(() => parsePrefixFamilies(text, "x.jsonl"), /x\.jsonl line 3: not valid JSON/);
});

Deno.test("a missing field is named with its line", () => {
  const bad = JSON.parse(line({ family: "b" }));
  delete bad.suffixes;
  assert.throws(
    () => parsePrefixFamilies(`${line({})}\n${JSON.stringify(bad)}\n`, "x.jsonl"),
    /x\.jsonl line 2: suffixes: .*expected array/i,
  );
});

Deno.test("a field of the wrong type is named with its line", () => {
  assert.throws(() => parsePrefixFamilies(line({ suffixes: "q1" }), "x.jsonl"), /line 1: suffixes/);
  assert.throws(() => parsePrefixFamilies(line({ kind: "chat" }), "x.jsonl"), /line 1: kind/);
  assert.throws(
    () => parsePrefixFamilies(line({ prefix: "short" }), "x.jsonl"),
    /line 1: prefix: .*200 characters/,
  );
  assert.throws(() => parsePrefixFamilies(line({ extra: 1 }), "x.jsonl"), /line 1: .*extra/);
});

Deno.test("duplicate families and empty files are refused", () => {
  assert.throws(
    () => parsePrefixFamilies(`${line({})}\n${line({})}\n`, "x.jsonl"),
    /line 2: family 'a' already appears on line 1/,
  );
  assert.throws(() => parsePrefixFamilies("\n\n", "x.jsonl"), /holds no families/);
});

Deno.test("valid lines parse in order, blank lines skipped", () => {
  const fams = parsePrefixFamilies(`${line({})}\n\n${line({ family: "b", kind: "system_prompt" })}\n`);
  assert.deepEqual(fams.map((f) => f.family), ["a", "b"]);
});
