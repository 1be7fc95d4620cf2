import assert from "node:assert/strict";
import { factBook } from "../../report/fact_book.ts";
import { assertChartSnapshot } from "../../report/_snapshot.ts";
import { kvFacts } from "./facts.ts";
import { kvKeyRows, kvPoolChart, kvPredictions } from "./lesson.ts";

// Synthetic kv_cache_scaling.csv rows (not a measurement): one pool of 1000 blocks of 16 tokens at three lengths.
const LENS = [1024, 4096, 16384];
const rows = LENS.map((L) => ({
  role: "sweep",
  started: "true",
  max_model_len: String(L),
  kv_cache_tokens: "16000",
  num_gpu_blocks: "1000",
  block_size: "16",
  max_concurrency: String(16000 / L),
  gpu_mem_used_gib: "70",
  kv_bytes_per_token_measured: "28672",
  kv_bytes_per_token_computed: "28672",
}));
const facts = kvFacts(
  factBook({ dir: "", manifest: {}, csv: new Map([["kv_cache_scaling.csv", rows]]), status: {}, files: [] }),
);

Deno.test("kvPoolChart: one bar per max-model-len, cut into full-length reservations, the rest grey (snapshot)", async () => {
  const chart = kvPoolChart(LENS.map((L) => ({ max_model_len: L, num_gpu_blocks: 1000, block_size: 16 })), {
    max_stripes: 8,
  });
  assert.match(
    chart.subtitle ?? "",
    /^The same pool of 1000 blocks \(16 tokens each\) at every max-model-len/,
  );
  const svg = await assertChartSnapshot(chart, new URL("./testdata/kv_pool.svg.snap", import.meta.url));
  // 1024: 15 fit (8 drawn + one band) + left over; 4096: 3 + left over; 16384: 0 + left over.
  assert.equal((svg.match(/<rect /g) ?? []).length, 10 + 4 + 1);
  for (const t of ["15 × 64 blocks", "3 × 256 blocks", "0 × 1024 blocks"]) {
    assert.ok(svg.includes(`>${t}<`), t);
  }
  assert.throws(() => kvPoolChart([]), /needs started rows/);
});

Deno.test("kvKeyRows and kvPredictions: the pool does not shrink, concurrency falls, bytes per token", () => {
  assert.deepEqual(kvKeyRows(facts).map((r) => [r.max_model_len, r.kv_tokens, r.max_concurrency]), [
    [1024, 16000, 15.625],
    [4096, 16000, 3.90625],
    [16384, 16000, 0.9765625],
  ]);
  const p = kvPredictions({ pool_shrinks: true, bytes_per_token: 28672 }, facts);
  assert.deepEqual(p.rows.map((r) => [r.result, r.verdict]), [
    ["28672 bytes", "exact"],
    ["no", "wrong"],
    ["0.977", "no guess"],
  ]);
});
