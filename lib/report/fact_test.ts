import assert from "node:assert/strict";
import { computeStat, deriveValue, type FactSource, formatFact, rowMatches } from "./fact.ts";
import { h } from "./html.ts";

const rows = [
  { c: "1", g: "10", series: "warm", ok: "true" },
  { c: "2", g: "30", series: "warm", ok: "true" },
  { c: "4", g: "20", series: "warm", ok: "false" },
  { c: "8", g: "", series: "cold", ok: "true" },
];
const src = (s: Partial<FactSource>): FactSource => ({ file: "x.csv", column: "c", stat: "max", ...s });

Deno.test("row statistics apply the filter first: equality as numbers or text, ranges inclusive", () => {
  assert.equal(computeStat(rows, src({ stat: "count", filter: { series: "warm", ok: "true" } })), 2);
  assert.equal(computeStat(rows, src({ stat: "max", filter: { c: { max: 4 } } })), 4);
  assert.equal(computeStat(rows, src({ stat: "min", filter: { c: { min: 2 } } })), 2);
  assert.equal(computeStat(rows, src({ stat: "mean", filter: { series: "warm" } })), 7 / 3);
  assert.equal(computeStat(rows, src({ stat: "p50" })), 3);
  assert.equal(computeStat(rows, src({ stat: "p95" })), 4 + 0.85 * 4);
  assert.ok(rowMatches({ c: "1.0" }, { c: 1 }), "1.0 and 1 are the same number");
  assert.ok(!rowMatches({ c: "" }, { c: { min: 0 } }), "an empty cell is not in any range");
});

Deno.test("value needs one distinct value; argmax takes the column of the row with the largest 'by'", () => {
  assert.equal(computeStat(rows, src({ stat: "value", filter: { c: 2 } })), 2);
  assert.equal(computeStat(rows, src({ stat: "value" })), undefined, "several values: no single value");
  assert.equal(computeStat(rows, src({ stat: "argmax", by: "g" })), 2);
  assert.equal(computeStat(rows, src({ stat: "argmin", by: "g" })), 1);
  assert.equal(computeStat(rows, src({ stat: "max", filter: { series: "none" } })), undefined);
});

Deno.test("derived facts: ratio, difference, scaled with rounding; a zero divisor gives no value", () => {
  const d = (stat: FactSource["stat"], extra: Partial<FactSource> = {}) =>
    src({ stat, of: ["a", "b"], ...extra });
  assert.equal(deriveValue(d("ratio"), [6, 2]), 3);
  assert.equal(deriveValue(d("ratio"), [6, 0]), undefined);
  assert.equal(deriveValue(d("difference"), [6, 2]), 4);
  assert.equal(deriveValue(d("scaled", { factor: 2, round: "ceil" }), [10.2]), 21);
  assert.equal(deriveValue(d("scaled", { factor: 0.5, round: "floor" }), [9]), 4);
});

Deno.test("facts are formatted with separators, about three significant digits, and their unit", () => {
  assert.equal(formatFact({ value: 1234.5, unit: "ms" }), "1,235 ms");
  assert.equal(formatFact({ value: 32768, unit: "tokens" }), "32,768 tokens");
  assert.equal(formatFact({ value: 6.1234, unit: "x" }), "6.12x");
  assert.equal(formatFact({ value: 0.987, unit: "%" }), "98.7%");
  assert.equal(formatFact({ value: 0.0123, unit: "" }), "0.012");
});

Deno.test("the HTML template refuses a bare number and escapes text", () => {
  assert.throws(() => h`<p>${42 as unknown as string}</p>`, /bare number \(42\)/);
  assert.equal(h`<p>${"<img src=x onerror=alert(1)>"}</p>`.html, "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
  assert.equal(h`<p>${undefined}</p>`.html, "<p><em>not measured</em></p>");
});
