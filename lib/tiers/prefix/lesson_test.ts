import assert from "node:assert/strict";
import { factBook } from "../../report/fact_book.ts";
import { assertChartSnapshot } from "../../report/_snapshot.ts";
import { prefixFacts } from "./facts.ts";
import { prefixBlocksChart, prefixKeyRows, prefixPredictions } from "./lesson.ts";

// Synthetic prefix_cache.csv rows (not a measurement): a 2048-token and an 8-token prefix, caching off and on.
const row = (prefix_tokens: number, arm: string, ttft_ms: number) => ({
  sweep: "length",
  concurrency: "1",
  prefix_tokens: String(prefix_tokens),
  arm,
  phase: "measure",
  ok: "true",
  ttft_ms: String(ttft_ms),
});
const rows = [
  row(2048, "off", 60),
  row(2048, "off", 64),
  row(2048, "on", 20),
  row(8, "off", 20),
  row(8, "on", 21),
];
const facts = prefixFacts(
  factBook({ dir: "", manifest: {}, csv: new Map([["prefix_cache.csv", rows]]), status: {}, files: [] }),
);

Deno.test("prefixBlocksChart: one cell per KV block, cached green and computed orange (snapshot)", async () => {
  const chart = prefixBlocksChart([
    { label: "caching on", prompt_tokens: 100, cached_tokens: 64, block_size: 16 },
    { label: "caching off", prompt_tokens: 100, cached_tokens: 0, block_size: 16 },
  ]);
  assert.equal(
    chart.subtitle,
    "caching on: 100 prompt tokens = 7 blocks of 16; 4 cached, 3 computed · " +
      "caching off: 100 prompt tokens = 7 blocks of 16; 0 cached, 7 computed",
  );
  const svg = await assertChartSnapshot(chart, new URL("./testdata/prefix_blocks.svg.snap", import.meta.url));
  assert.equal((svg.match(/fill="#2ca02c"/g) ?? []).length, 4);
  assert.equal((svg.match(/fill="#ff7f0e"/g) ?? []).length, 10);
  assert.throws(() => prefixBlocksChart([]), /at least one request row/);
  assert.throws(
    () => prefixBlocksChart([{ label: "x", prompt_tokens: 0, cached_tokens: 0, block_size: 16 }]),
    /'x' has no prompt_tokens/,
  );
});

Deno.test("prefixKeyRows and prefixPredictions: off/on p50 and the speedup at the longest and shortest prefix", () => {
  assert.deepEqual(prefixKeyRows(facts), [
    { prefix_tokens: 2048, off_p50_ms: 62, on_p50_ms: 20, speedup: 3.1 },
    { prefix_tokens: 8, off_p50_ms: 20, on_p50_ms: 21, speedup: 20 / 21 },
  ]);
  const p = prefixPredictions({ speedup_long: 3 }, facts);
  assert.equal(p.rows[0].verdict, "close (within 25%)");
  assert.match(p.rows[1].why, /shorter than one KV block/);
  assert.equal(p.rows[2].result, "not measured", "no prefix_cache_runs.csv here");
});
