/**
 * One tidy CSV row per request: the record's raw fields and its derived metrics, units in column names,
 * one header row. `RequestRowSchema` is the schema: its key order is the CSV column order
 * (`REQUEST_COLUMNS`), and a change to it is a schema change.
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { z } from "zod";
import type { RequestRecord } from "../probe/types.ts";
import { columnsOf, csvBoolean, csvNumber } from "../run/csv.ts";
import { REQUEST_METRICS } from "./request_metrics.ts";

const optNumber = csvNumber.optional();

/**
 * One per-request row as read back: its keys are the CSV columns, in order (times are ms on the run's
 * monotonic clock; an empty cell is undefined: not applicable or not measured). Tier CSVs compose their
 * rows from its `.shape`.
 */
export const RequestRowSchema = z.object({
  request_id: z.string(),
  /** Position in the load run's sequence; empty for a lone probe. */
  index: optNumber,
  /** Empty for a lone probe. */
  phase: z.enum(["warmup", "measure"]).optional(),
  endpoint: z.enum(["completions", "chat"]),
  ok: csvBoolean,
  error_kind: z.string().optional(),
  error_message: z.string().optional(),
  http_status: optNumber,
  finish_reason: z.string().optional(),
  prompt_tokens: optNumber,
  completion_tokens: optNumber,
  cached_tokens: optNumber,
  output_chars: csvNumber,
  chunks: csvNumber,
  t_intended_ms: csvNumber,
  t_send_ms: csvNumber,
  t_headers_ms: optNumber,
  t_first_event_ms: optNumber,
  t_first_choice_ms: optNumber,
  t_first_content_ms: optNumber,
  t_last_chunk_ms: optNumber,
  t_end_ms: csvNumber,
  queue_delay_ms: optNumber,
  ttft_first_byte_ms: optNumber,
  ttft_first_event_ms: optNumber,
  ttft_first_choice_ms: optNumber,
  ttft_ms: optNumber,
  ttft_from_intended_ms: optNumber,
  e2e_ms: optNumber,
  e2e_from_intended_ms: optNumber,
  tpot_ms: optNumber,
  tpot_guidellm_ms: optNumber,
  itl_guidellm_ms: optNumber,
  itl_mean_ms: optNumber,
  itl_max_ms: optNumber,
  output_tok_s: optNumber,
  decode_tok_s: optNumber,
  cache_hit_fraction: optNumber,
  /** The record's tags as one JSON object, so the schema stays fixed. */
  tags_json: z.string().optional(),
});

/** The per-request CSV columns, in order: the keys of {@link RequestRowSchema}. */
export const REQUEST_COLUMNS = columnsOf(RequestRowSchema);

export type RequestColumn = typeof REQUEST_COLUMNS[number];
/** A cell: undefined is an empty cell (not applicable / not measured). */
export type Cell = string | number | boolean | undefined;
export type RequestRow = Record<RequestColumn, Cell>;

/** Milliseconds and rates keep microsecond precision: 3 decimals. */
const round3 = (x: number | undefined): number | undefined =>
  x === undefined ? undefined : Math.round(x * 1e3) / 1e3;

/**
 * Flattens a record into one row with the columns of {@link REQUEST_COLUMNS} (numbers rounded to 3
 * decimals; tags as one JSON column so the schema stays fixed).
 *
 * @example
 * ```ts
 * import { requestRow } from "./request_row.ts";
 * const row = requestRow({
 *   request_id: "r0", endpoint: "completions", ok: true, t_intended_ms: 0, t_send_ms: 0,
 *   t_first_content_ms: 200, t_end_ms: 390, chunk_ms: [200, 390], output_chars: 6, completion_tokens: 2,
 * });
 * row.ttft_ms; // 200
 * ```
 */
export function requestRow(r: RequestRecord): RequestRow {
  const m = (name: keyof typeof REQUEST_METRICS) => round3(REQUEST_METRICS[name].of(r));
  return {
    request_id: r.request_id,
    index: r.index,
    phase: r.phase,
    endpoint: r.endpoint,
    ok: r.ok,
    error_kind: r.error_kind,
    error_message: r.error_message,
    http_status: r.http_status,
    finish_reason: r.finish_reason,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cached_tokens: r.cached_tokens,
    output_chars: r.output_chars,
    chunks: r.chunk_ms.length,
    t_intended_ms: round3(r.t_intended_ms),
    t_send_ms: round3(r.t_send_ms),
    t_headers_ms: round3(r.t_headers_ms),
    t_first_event_ms: round3(r.t_first_event_ms),
    t_first_choice_ms: round3(r.t_first_choice_ms),
    t_first_content_ms: round3(r.t_first_content_ms),
    t_last_chunk_ms: round3(r.chunk_ms.at(-1)),
    t_end_ms: round3(r.t_end_ms),
    queue_delay_ms: m("queue_delay_ms"),
    ttft_first_byte_ms: m("ttft_first_byte_ms"),
    ttft_first_event_ms: m("ttft_first_event_ms"),
    ttft_first_choice_ms: m("ttft_first_choice_ms"),
    ttft_ms: m("ttft_ms"),
    ttft_from_intended_ms: m("ttft_from_intended_ms"),
    e2e_ms: m("e2e_ms"),
    e2e_from_intended_ms: m("e2e_from_intended_ms"),
    tpot_ms: m("tpot_ms"),
    tpot_guidellm_ms: m("tpot_guidellm_ms"),
    itl_guidellm_ms: m("itl_guidellm_ms"),
    itl_mean_ms: m("itl_mean_ms"),
    itl_max_ms: m("itl_max_ms"),
    output_tok_s: m("output_tok_s"),
    decode_tok_s: m("decode_tok_s"),
    cache_hit_fraction: m("cache_hit_fraction"),
    tags_json: r.tags === undefined ? undefined : JSON.stringify(r.tags),
  };
}

/**
 * Records as CSV text: one header row ({@link REQUEST_COLUMNS}), one row per request, empty cells for
 * undefined.
 *
 * @example
 * ```ts
 * import { requestsCsv } from "./request_row.ts";
 * const csv = requestsCsv([]); // just the header row
 * ```
 */
export function requestsCsv(records: readonly RequestRecord[]): string {
  return stringify(records.map(requestRow), {
    header: true,
    columns: [...REQUEST_COLUMNS],
    cast: { boolean: String },
  });
}
