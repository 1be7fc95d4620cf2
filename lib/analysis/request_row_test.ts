import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import type { RequestRecord } from "../probe/types.ts";
import { REQUEST_COLUMNS, requestRow, requestsCsv } from "./request_row.ts";

const ok: RequestRecord = {
  request_id: "run-0",
  endpoint: "completions",
  index: 0,
  phase: "measure",
  ok: true,
  http_status: 200,
  finish_reason: "length",
  t_intended_ms: 1.5,
  t_send_ms: 2.0004,
  t_headers_ms: 3,
  t_first_event_ms: 202,
  t_first_choice_ms: 202,
  t_first_content_ms: 202,
  chunk_ms: [202, 212.25, 222.5],
  t_end_ms: 223,
  prompt_tokens: 10,
  completion_tokens: 3,
  output_chars: 9,
  tags: { family: "f1", prefix_tokens: 512 },
};
const failed: RequestRecord = {
  request_id: "run-1",
  endpoint: "chat",
  index: 1,
  phase: "warmup",
  ok: false,
  error_kind: "http_status",
  error_message: 'HTTP 400: prompt too long, "quoted"',
  http_status: 400,
  t_intended_ms: 5,
  t_send_ms: 5,
  t_headers_ms: 6,
  chunk_ms: [],
  t_end_ms: 7,
  output_chars: 0,
};

Deno.test("the CSV schema is one header row in REQUEST_COLUMNS order, units in names", () => {
  const header = requestsCsv([]).trim();
  assert.equal(header, REQUEST_COLUMNS.join(","));
  // Snapshot of the schema: a change here is a CSV schema change (update consumers and the ADR).
  assert.equal(
    header,
    "request_id,index,phase,endpoint,ok,error_kind,error_message,http_status,finish_reason,prompt_tokens," +
      "completion_tokens,cached_tokens,output_chars,chunks,t_intended_ms,t_send_ms,t_headers_ms,t_first_event_ms," +
      "t_first_choice_ms,t_first_content_ms,t_last_chunk_ms,t_end_ms,queue_delay_ms,ttft_first_byte_ms," +
      "ttft_first_event_ms,ttft_first_choice_ms,ttft_ms,ttft_from_intended_ms,e2e_ms,e2e_from_intended_ms,tpot_ms," +
      "tpot_guidellm_ms,itl_guidellm_ms,itl_mean_ms,itl_max_ms,output_tok_s,decode_tok_s,cache_hit_fraction,tags_json",
  );
});

Deno.test("a row flattens the record and its derived metrics, rounded to microseconds", () => {
  const row = requestRow(ok);
  assert.deepEqual(Object.keys(row), [...REQUEST_COLUMNS]);
  assert.equal(row.t_send_ms, 2);
  assert.equal(row.ttft_ms, 200);
  assert.equal(row.queue_delay_ms, 0.5);
  assert.equal(row.chunks, 3);
  assert.equal(row.t_last_chunk_ms, 222.5);
  assert.equal(row.e2e_ms, 221);
  assert.equal(row.tpot_ms, 10.5);
  assert.equal(row.cached_tokens, undefined);
  assert.equal(row.cache_hit_fraction, undefined);
  assert.equal(row.tags_json, '{"family":"f1","prefix_tokens":512}');
});

Deno.test("CSV rows round-trip, with empty cells for what does not apply", () => {
  const rows = parse(requestsCsv([ok, failed]), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 2);
  assert.equal(rows[0].ok, "true");
  assert.equal(rows[0].ttft_ms, "200");
  assert.equal(rows[1].ok, "false");
  assert.equal(rows[1].phase, "warmup");
  assert.equal(rows[1].error_message, failed.error_message, "commas and quotes survive");
  assert.equal(rows[1].ttft_ms, "", "no content: empty, not 0");
  assert.equal(rows[1].e2e_ms, "");
  assert.equal(rows[1].queue_delay_ms, "0");
});
