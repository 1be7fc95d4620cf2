/** Test helper: the per-request cells a tier row read back always has, for tests that build rows by hand. */
import type { z } from "zod";
import type { RequestRowSchema } from "./request_row.ts";

/** A request row as read back. */
export type RequestRowCells = z.infer<typeof RequestRowSchema>;

let next = 0;

/**
 * The always-written per-request cells (a fresh request_id each call, a completions request that sent at
 * 0 ms and ended at 0 ms with no chunk), overridden by `o`; tier tests spread it into their rows.
 */
export function requestCells(o: Partial<RequestRowCells> = {}): RequestRowCells {
  return {
    request_id: `req-${next++}`,
    endpoint: "completions",
    ok: true,
    output_chars: 0,
    chunks: 0,
    t_intended_ms: 0,
    t_send_ms: 0,
    t_end_ms: 0,
    ...o,
  };
}
