import assert from "node:assert/strict";
import type { RequestRecord } from "../probe/types.ts";
import { summarizeRecords, type SummaryRow } from "./summary.ts";

const base = (i: number, ttft: number): RequestRecord => ({
  request_id: `r${i}`,
  endpoint: "completions",
  index: i,
  phase: "measure",
  ok: true,
  t_intended_ms: i * 100,
  t_send_ms: i * 100,
  t_first_event_ms: i * 100 + ttft,
  t_first_choice_ms: i * 100 + ttft,
  t_first_content_ms: i * 100 + ttft,
  chunk_ms: [i * 100 + ttft, i * 100 + ttft + 10],
  t_end_ms: i * 100 + ttft + 10,
  completion_tokens: 2,
  output_chars: 6,
});

const find = (rows: SummaryRow[], metric: string, stat: string) =>
  rows.find((r) => r.metric === metric && r.stat === stat)?.value;

Deno.test("the long summary leaves warm-up out, counts errors by kind and pools ITL", () => {
  const records: RequestRecord[] = [
    { ...base(0, 900), phase: "warmup" },
    base(1, 20),
    base(2, 40),
    base(3, 60),
    { ...base(4, 0), ok: false, error_kind: "timeout", t_first_content_ms: undefined, chunk_ms: [] },
  ];
  const rows = summarizeRecords(records);
  assert.equal(find(rows, "requests", "total"), 4);
  assert.equal(find(rows, "requests", "ok"), 3);
  assert.equal(find(rows, "requests", "failed"), 1);
  assert.equal(find(rows, "errors", "timeout"), 1);
  assert.equal(find(rows, "ttft_ms", "n"), 3);
  assert.equal(find(rows, "ttft_ms", "mean"), 40, "the 900 ms warm-up is not in it");
  assert.equal(find(rows, "ttft_ms", "max"), 60);
  assert.equal(find(rows, "itl_ms", "n"), 3);
  assert.equal(find(rows, "itl_ms", "p50"), 10);
  // window: first measured send (100) to last end (410): 0.31 s, 6 tokens from the ok requests
  assert.equal(find(rows, "duration_s", "value"), 0.31);
  assert.equal(find(rows, "output_throughput", "value"), 6 / 0.31);
  assert.ok(rows.every((r) => Number.isFinite(r.value) && r.unit.length > 0));
  assert.equal(rows.find((r) => r.metric === "ttft_ms" && r.stat === "mean")!.unit, "ms");
});

Deno.test("metrics with no applicable value are omitted, not written as 0", () => {
  const rows = summarizeRecords([base(0, 20)]);
  // completion_tokens = 2 so TPOT exists; no cached tokens reported, so no cache-hit rows but n = 0.
  assert.equal(find(rows, "cache_hit_fraction", "n"), 0);
  assert.equal(find(rows, "cache_hit_fraction", "mean"), undefined);
  assert.equal(find(rows, "tpot_ms", "mean"), 10);
  const none = summarizeRecords([]);
  assert.equal(find(none, "requests", "total"), 0);
  assert.equal(find(none, "duration_s", "value"), undefined);
});
