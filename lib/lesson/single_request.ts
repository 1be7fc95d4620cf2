/**
 * One request two ways, for a lesson: through the `openai` SDK, as an application sends it, and through the
 * lab's probe. The two TTFTs differ because they timestamp different moments; {@link sdkVsProbe} puts them
 * side by side with what each one measures.
 *
 * - SDK: the notebook's timer starts just before `client.completions.create(...)` (which builds the request,
 *   sends it and resolves at the response headers) and stops when the SDK's async iterator yields its first
 *   parsed chunk, whatever it holds (on chat, a role-only chunk with no text counts).
 * - Probe (lib/probe): monotonic timestamps at the send (just before the request is written), the response
 *   headers, the first SSE event, the first event with choices and the first event with non-empty text;
 *   its `ttft_ms` is send to first non-empty text.
 * @module
 */
import { e2e_ms, ttft_first_byte_ms, ttft_first_event_ms, ttft_ms } from "../analysis/request_metrics.ts";
import { apiKey } from "../engine/external.ts";
import type { Engine } from "../engine/types.ts";
import type { RequestRecord } from "../probe/types.ts";
import { type Displayable, displayable, escapeHtml } from "../report/bundle.ts";

/** The options for `new OpenAI(...)` that reach `engine`: its /v1 URL, its API key (or a placeholder), no
 * retries (a retried request would hide a failure and double its time). */
export function openaiOptions(engine: Engine): { baseURL: string; apiKey: string; maxRetries: number } {
  return { baseURL: `${engine.baseUrl}/v1`, apiKey: apiKey(engine.config) ?? "no-key", maxRetries: 0 };
}

/** What the notebook's SDK cell measured around the SDK's async iterator (ms on `performance.now()`). */
export interface SdkTiming {
  /** Timer start (before `create`) to the first chunk the iterator yields. */
  first_chunk_ms?: number;
  /** Timer start to the iterator's end. */
  total_ms?: number;
  /** Chunks the iterator yielded. */
  chunks: number;
}

/** One row of {@link sdkVsProbe}'s table. */
export interface SideBySideRow {
  who: string;
  moment: string;
  ms?: number;
}

/** The comparison: rows and the explanation, displayable. */
export interface SideBySide extends Displayable {
  readonly kind: "side_by_side";
  readonly rows: readonly SideBySideRow[];
  /** SDK first chunk minus the probe's TTFT (ms); undefined when either is missing. */
  readonly difference_ms?: number;
  readonly text: string;
}

const fmt = (x: number | undefined) => x === undefined ? "not measured" : `${x.toFixed(2)} ms`;

/**
 * The SDK's first chunk beside the probe's timestamps of a similar request (same length, same engine, its own
 * prompt so the prefix cache cannot help the second), with what each timer covers and the difference.
 *
 * @example
 * ```ts
 * await show(sdkVsProbe({ first_chunk_ms: 14.2, total_ms: 40.1, chunks: 16 }, record));
 * ```
 */
export function sdkVsProbe(sdk: SdkTiming, rec: RequestRecord): SideBySide {
  if (!rec.ok) {
    throw new Error(
      `The probe's request failed (${rec.error_kind}: ${
        rec.error_message ?? "no message"
      }), so there is no ` +
        "TTFT to compare; check that the engine is still running (rerun the launch cell).",
    );
  }
  const rows: SideBySideRow[] = [
    {
      who: "openai SDK",
      moment: "create() called -> first chunk out of the async iterator",
      ms: sdk.first_chunk_ms,
    },
    { who: "openai SDK", moment: "create() called -> iterator done", ms: sdk.total_ms },
    {
      who: "lab probe",
      moment: "send -> response headers (time to first byte)",
      ms: ttft_first_byte_ms(rec),
    },
    { who: "lab probe", moment: "send -> first SSE event", ms: ttft_first_event_ms(rec) },
    { who: "lab probe", moment: "send -> first non-empty text (its ttft_ms)", ms: ttft_ms(rec) },
    { who: "lab probe", moment: "send -> end of stream (e2e_ms)", ms: e2e_ms(rec) },
  ];
  const probeTtft = ttft_ms(rec);
  const difference_ms = sdk.first_chunk_ms !== undefined && probeTtft !== undefined
    ? sdk.first_chunk_ms - probeTtft
    : undefined;
  const why = [
    `SDK first chunk ${fmt(sdk.first_chunk_ms)} against the probe's TTFT ${fmt(probeTtft)}: ` +
    (difference_ms === undefined
      ? "no difference to explain (one of them has no first token)."
      : `the SDK's is ${Math.abs(difference_ms).toFixed(2)} ms ${
        difference_ms >= 0 ? "longer" : "shorter"
      }.`),
    "What each timer covers: the SDK's starts before create() builds the request and runs through its HTTP " +
    "stack, and stops after the SDK has parsed the first SSE event into an object; the probe stamps the send " +
    "just before the bytes go out and the first event with text as its bytes arrive, on one monotonic clock. " +
    "So the SDK adds client-side work at both ends, and it counts any first chunk, even one without text " +
    "(chat's role-only chunk), where the probe waits for text.",
    "These are two requests, one each: a difference of a millisecond or two is within the run-to-run noise " +
    "of one request; the sweep's percentiles are what to trust.",
  ];
  const text = why.join("\n");
  const table =
    `<table><thead><tr><th style="text-align:left">who</th><th style="text-align:left">moment</th>` +
    `<th>ms</th></tr></thead><tbody>${
      rows.map((r) =>
        `<tr><td style="text-align:left">${escapeHtml(r.who)}</td><td style="text-align:left">${
          escapeHtml(r.moment)
        }</td><td>${r.ms === undefined ? "not measured" : r.ms.toFixed(2)}</td></tr>`
      ).join("")
    }</tbody></table>`;
  const html = table + why.map((w) => `<p>${escapeHtml(w)}</p>`).join("");
  const plain = rows.map((r) => `${r.who}: ${r.moment}: ${fmt(r.ms)}`).join("\n") + "\n" + text;
  return displayable(
    { "text/html": html, "text/plain": plain },
    { kind: "side_by_side" as const, rows, difference_ms, text },
  );
}
