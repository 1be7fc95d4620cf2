/**
 * One concurrency recommendation: the sweet spot rule, written once into batching_summary.csv and read back
 * as the batching facts' target (the goodput peak is only the ceiling); batching_benchmark.md never blames
 * the server for points that were invalid because of the client.
 * @module
 */
import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { factBook } from "../../report/fact_book.ts";
import { toCsv } from "../../run/csv.ts";
import { BATCHING_SUMMARY_COLUMNS, batchingFindings, batchingSummaryRows } from "./analyze.ts";
import { batchingFacts } from "./facts.ts";
import { BATCHING_PRESETS } from "./params.ts";
import { BATCHING_POINT_COLUMNS, type BatchingPointRow, type BatchingRequestRow } from "./point_row.ts";
import { batchingQuestions } from "./questions.ts";
import { batchingProductOwnerText } from "./writeup.ts";
import { requestCells } from "../../analysis/_request_fixture.ts";

const P = { ...BATCHING_PRESETS.test, ci_resamples: 50, knee_gain: 0.2, slo_ttft_ms: 200, slo_tpot_ms: 25 };
const C = [1, 2, 4, 8, 16, 32, 64];
const X = (c: number) => 400 * c / (c + 10);

function pointRow(c: number, repeat: number, valid = true): BatchingPointRow {
  return {
    point_id: `c${c}-r${repeat}`,
    sweep: "concurrency",
    repeat,
    concurrency: c,
    latency_from: "send",
    requests_sent: 20,
    requests_ok: 20,
    requests_failed: 0,
    throughput_rps: X(c),
    output_tok_s: 16 * X(c),
    // Goodput keeps rising to 64 (the SLO holds there): the ceiling, past the knee-capped sweet spot.
    goodput_rps: X(c),
    ttft_p95_ms: 24 + 2 * c,
    tpot_p95_ms: 3.2 + c / 4,
    inflight_mean: c,
    little_inflight: c,
    little_dev_pct: 0,
    server_samples: 3,
    valid,
    invalid_reason: valid ? undefined : "client too slow (event-loop lag p99 40 ms; limit 15 ms)",
  };
}

function requests(c: number, repeat: number): BatchingRequestRow[] {
  return Array.from({ length: 20 }, (_, i) => ({
    ...requestCells(),
    point_id: `c${c}-r${repeat}`,
    sweep: "concurrency" as const,
    repeat,
    part: "measure" as const,
    ok: true,
    ttft_ms: 20 + 2 * c + (i % 5),
    tpot_ms: 3 + c / 4,
    e2e_ms: 20 + 2 * c + 15 * (3 + c / 4),
    queue_delay_ms: 0.2,
    itl_gaps_ms: "3 3 3",
  }));
}

const asText = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

function book(valid: boolean) {
  const rows = C.flatMap((c) => [1, 2].map((r) => pointRow(c, r, valid)));
  const F = batchingFindings(rows, C.flatMap((c) => [1, 2].flatMap((r) => requests(c, r))), P);
  const csv = new Map([
    ["concurrency_sweep.csv", asText(toCsv(rows, BATCHING_POINT_COLUMNS))],
    ["batching_summary.csv", asText(toCsv(batchingSummaryRows(F), BATCHING_SUMMARY_COLUMNS))],
  ]);
  return { F, b: factBook({ dir: ".", manifest: {}, csv, status: {}, files: [] }) };
}

Deno.test("the concurrency target is the sweet spot rule's, read from batching_summary.csv; goodput's peak is the ceiling", () => {
  const { F, b } = book(true);
  assert.ok(
    F.sweet.kind === "sweet_spot" && F.sweet.concurrency === 32,
    "the knee caps the sweet spot at 32",
  );
  const f = batchingFacts(b);
  assert.equal(f.target.concurrency?.value, 32, "target = sweet spot, not the goodput peak");
  assert.equal(f.target.concurrency?.source.file, "batching_summary.csv");
  assert.equal(f.ceiling?.value, 64, "the goodput peak is kept as the ceiling");
  assert.equal(f.knee?.value, 32);
  assert.equal(f.slo_ttft?.value, 200);
  assert.ok(f.range_lo && f.range_hi && f.range_lo.value <= 32 && f.range_hi.value >= 32);
  const q16 = batchingQuestions(f, {}).find((q) => q.n === 16)!.answer.html;
  assert.match(q16, /data-fact="batch_c_target"/);
  assert.match(q16, /ceiling, not a second target/);
});

Deno.test("all points invalid: no target, no verdict on the server, 'not measured' in the answers", () => {
  const { F, b } = book(false);
  const text = batchingProductOwnerText(F, "vLLM 0.32.0");
  assert.doesNotMatch(
    text,
    /cannot serve even one request/,
    "invalid points are the client's, not the server's",
  );
  assert.match(text, /No concurrency point of this run was valid \(client too slow\)/);
  const f = batchingFacts(b);
  assert.equal(f.target.concurrency, undefined);
  assert.equal(f.invalid_points?.value, 14);
  const qs = batchingQuestions(f, {});
  for (const q of qs) assert.match(q.answer.html, /Not measured/, `question ${q.n}`);
});
