import assert from "node:assert/strict";
import { factBook } from "../../report/fact_book.ts";
import { ttftFacts } from "./facts.ts";
import { ttftKeyRows, ttftPredictions } from "./lesson.ts";

// Synthetic ttft.csv rows (not a measurement): two valid cold requests, four warm, one invalid launch's warm row.
const row = (series: string, ttft_ms: number, client_ok = "true") => ({
  series,
  ttft_ms: String(ttft_ms),
  ok: "true",
  client_ok,
});
const rows = [
  row("cold", 100),
  row("cold", 120),
  ...[10, 11, 12, 13].map((x) => row("warm", x)),
  row("warm", 500, "false"),
];
const facts = ttftFacts(
  factBook({ dir: "", manifest: {}, csv: new Map([["ttft.csv", rows]]), status: {}, files: [] }),
);

Deno.test("ttftKeyRows: lib's cold and warm rows from the facts, the invalid launch left out", () => {
  assert.deepEqual(ttftKeyRows(facts), [
    { series: "cold", n: 2, p50_ms: 110, vs_warm_p50: 110 / 11.5 },
    { series: "warm", n: 4, p50_ms: 11.5, p95_ms: 12.85 },
  ]);
  const empty = ttftFacts(factBook({ dir: "", manifest: {}, csv: new Map(), status: {}, files: [] }));
  assert.deepEqual(ttftKeyRows(empty).map((r) => r.p50_ms), [undefined, undefined], "not measured, not 0");
});

Deno.test("ttftPredictions: a guess against the cold/warm factor, with the run's numbers in the reason", () => {
  const p = ttftPredictions({ cold_warm_factor: 2 }, facts);
  assert.equal(p.rows[0].result, "9.57 x");
  assert.equal(p.rows[0].verdict, "4.8× too low");
  assert.match(p.rows[0].why, /110\.0 ms against 11\.5 ms warm, over 2 valid launch/);
  assert.equal(p.rows[1].verdict, "no guess");
  assert.equal(p.rows[2].result, "not measured", "no length sweep in these rows");
});
