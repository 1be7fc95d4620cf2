/**
 * The per-request record: raw monotonic timestamps and an error column, one row per request.
 *
 * All `t_*_ms` values are milliseconds on the lab's monotonic clock (`performance.now()` of the process
 * that ran the probe), relative to the run's time origin; they are never mixed with wall-clock time.
 * A timestamp that did not happen (no first content because the request failed) is `undefined`, never 0.
 * @module
 */

/** Why a request failed; `undefined` when it succeeded. */
export type ErrorKind =
  | "http_status" // non-2xx response
  | "timeout" // abort timeout hit (stalled stream or slow server)
  | "connection" // refused, reset, dropped mid-stream
  | "bad_stream" // malformed SSE or JSON, or not an event stream
  | "stream_error" // the server sent an error event mid-stream (vLLM: `data: {"error": ...}`)
  | "empty" // stream ended without any content
  | "aborted"; // the caller's signal aborted the run

export type Endpoint = "completions" | "chat";

/** Load-run phase: warm-up records are kept but excluded from aggregates. */
export type Phase = "warmup" | "measure";

/** What to send. `prompt` is text or token ids (completions only for ids). */
export interface ProbeRequest {
  endpoint: Endpoint;
  model: string;
  prompt: string | number[];
  max_tokens: number;
  min_tokens?: number;
  ignore_eos?: boolean;
  temperature?: number;
  seed?: number;
  /** Free-form tags copied into the record (family id, prefix length...). */
  tags?: Record<string, string | number | boolean>;
}

export interface RequestRecord {
  request_id: string;
  endpoint: Endpoint;
  /** Position in the load run's sequence (0-based), when the record comes from `runLoad`. */
  index?: number;
  /** Set by `runLoad`; a lone `probe()` leaves it undefined (a measurement). */
  phase?: Phase;
  ok: boolean;
  error_kind?: ErrorKind;
  error_message?: string;
  http_status?: number;
  /** When the load generator meant to send it (open loop: the schedule; closed loop: when a slot freed). */
  t_intended_ms: number;
  /** Just before fetch() was called. */
  t_send_ms: number;
  /** Response headers received. */
  t_headers_ms?: number;
  /** First SSE event of any kind (chat: often the role-only chunk). */
  t_first_event_ms?: number;
  /** First event with non-empty choices (vLLM bench's TTFT event). */
  t_first_choice_ms?: number;
  /** First event with non-empty text content. */
  t_first_content_ms?: number;
  /** Last byte / [DONE] / error. */
  t_end_ms: number;
  /** Arrival time of every event that carried content, in order. */
  chunk_ms: number[];
  /** Tokens per content chunk when the server reports them (vLLM: 1 per chunk at stream-interval 1). */
  prompt_tokens?: number;
  completion_tokens?: number;
  cached_tokens?: number;
  /** The last `finish_reason` the server sent ("length", "stop", ...). */
  finish_reason?: string;
  /** Characters of generated text (the text itself is not kept). */
  output_chars: number;
  /** Server-side ground truth from the embedded engine (x-servelab-timing), ms on the server's clock. */
  server?: { arrival_ms: number; first_token_ms?: number; end_ms?: number; token_ms?: number[] };
  tags?: Record<string, string | number | boolean>;
}
