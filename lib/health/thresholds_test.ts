import assert from "node:assert/strict";
import { CHECK_IDS, CHECK_UNITS, defaultThresholds, parseThresholds, thresholdsJson } from "./thresholds.ts";

Deno.test("the defaults round-trip through thresholdsJson and parseThresholds", () => {
  const t = defaultThresholds();
  assert.deepEqual(parseThresholds(thresholdsJson(t), "defaults"), t);
  assert.deepEqual(t.checks.map((c) => c.id).sort(), [...CHECK_IDS].sort());
  for (const c of t.checks) assert.equal(c.unit, CHECK_UNITS[c.id]);
});

Deno.test("a bad field is named with the file and the fix", () => {
  const t = JSON.parse(thresholdsJson(defaultThresholds()));
  t.canary.concurrency = 0;
  t.checks[1].op = "<";
  assert.throws(() => parseThresholds(JSON.stringify(t), "my.json"), (e: Error) => {
    assert.match(e.message, /my\.json/);
    assert.match(e.message, /canary\.concurrency/);
    assert.match(e.message, /checks\[1\]\.op/);
    assert.match(e.message, /--thresholds/);
    return true;
  });
});

Deno.test("not JSON, a wrong unit and a duplicate id are refused", () => {
  assert.throws(() => parseThresholds("{nope", "x.json"), /x\.json is not valid JSON/);
  const t = defaultThresholds();
  t.checks[0].unit = "s";
  t.checks.push({ ...t.checks[1] });
  assert.throws(() => parseThresholds(JSON.stringify(t), "y.json"), (e: Error) => {
    assert.match(e.message, /checks\[0\]\.unit: ttft_p95_ms is measured in "ms", got "s"/);
    assert.match(e.message, /appears more than once/);
    return true;
  });
});
