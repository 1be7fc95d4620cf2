import assert from "node:assert/strict";
import { $display } from "./bundle.ts";
import { predictionTable, verdict } from "./predict.ts";

Deno.test("verdict: close within 25%, else how many times too high or low; no guess; not measured", () => {
  assert.equal(verdict(undefined, 3), "no guess");
  assert.equal(verdict(3, undefined), "not measured: nothing to compare");
  assert.equal(verdict(4, 4), "exact");
  assert.equal(verdict(3, 4), "close (within 25%)");
  assert.equal(verdict(2, 8), "4.0× too low");
  assert.equal(verdict(30, 10), "3.0× too high");
  assert.equal(verdict(true, false), "wrong");
  assert.equal(verdict(false, false), "right");
});

Deno.test("predictionTable: empty guesses read 'no guess' and the table never shows undefined or NaN", () => {
  const t = predictionTable([
    { quantity: "cold / warm TTFT", unit: "x", result: 5.57, why: "the first request pays lazy init" },
    { quantity: "bytes per KV token", unit: "bytes", guess: 28672, result: 28673, why: "2 x layers x ..." },
    { quantity: "knee", unit: "", guess: 8, why: "no knee in range" },
  ]);
  assert.deepEqual(t.rows.map((r) => [r.guess, r.result, r.verdict]), [
    ["no guess", "5.57 x", "no guess"],
    ["28672 bytes", "28673 bytes", "close (within 25%)"],
    ["8.00", "not measured", "not measured: nothing to compare"],
  ]);
  const b = t[$display]();
  assert.doesNotMatch(String(b["text/html"]) + String(b["text/plain"]), /undefined|NaN/);
  assert.match(String(b["text/plain"]), /^Your 2 guesses against this run:/);
  assert.match(
    String(predictionTable([{ quantity: "q", unit: "", result: 1, why: "w" }])[$display]()["text/plain"]),
    /No guesses were written/,
  );
});
