/**
 * One streamed request with raw timestamps: the lab's hot path.
 *
 * `probe()` sends one OpenAI-compatible streaming request with `fetch` and reads the body itself, so it
 * can stamp the response headers, the first SSE event, the first event with choices, the first content
 * and every content chunk on the run's {@link Clock}. It never throws for a failed request: the failure
 * is a record with `ok: false` and an `error_kind`. See docs/adr/0003-clock.md for why it does not use the
 * `openai` client.
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Clock } from "./clock.ts";
import { type Http1Pool, http1Request } from "./http1.ts";
import { SseScanner } from "./sse_scan.ts";
import { isRedirect } from "../base/guarded_fetch.ts";
import { allowRemoteFromEnv, checkLoadTarget, redactUrl } from "../base/target.ts";
import type { ErrorKind, ProbeRequest, RequestRecord } from "./types.ts";

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** The run's clock (one per run); every `t_*_ms` is read from it. */
  clock: Clock;
  /** When the load generator meant to send the request; default: the send time. */
  t_intended_ms?: number;
  /** Sent as `x-request-id`; default: a random id. */
  request_id?: string;
  /** Extra request headers, e.g. `Authorization`. */
  headers?: Record<string, string>;
  /** Abort the request after this long (headers and body together). Default 300 000 ms. */
  timeout_ms?: number;
  /** The caller's signal: when it aborts, the record says `aborted`. */
  signal?: AbortSignal;
  /** Allow a non-loopback `baseUrl` (see target.ts). Default: `SERVELAB_ALLOW_REMOTE=1`. */
  allow_remote?: boolean;
  /**
   * Send on this pool's raw HTTP/1.1 connections instead of `fetch` (`http://` only; runLoad passes one
   * unless `transport: "fetch"`). Cheaper per request and per chunk, and the send and each read are stamped
   * at the socket: docs/adr/0016-fidelity-truth-and-floors.md.
   */
  pool?: Http1Pool;
  /**
   * How the body is read: "scan" (default) finds plain content chunks on the bytes and parses only the
   * other events (lib/probe/sse_scan.ts); "parser" decodes every read and runs the SSE parser and
   * `JSON.parse` on every event (the path before issue 22; the bench compares the two).
   */
  parse?: "scan" | "parser";
}

/** Response header in which the embedded engine states a request's arrival (ms, server clock). */
export const SERVER_ARRIVAL_HEADER = "x-servelab-arrival-ms";

/** Size of the per-request read buffer: a read returns at most this many bytes (the rest waits). */
const READ_BUFFER_BYTES = 16 * 1024;

/** Default request timeout, long enough for a cold engine's first request. */
export const DEFAULT_TIMEOUT_MS = 300_000;

/** The JSON body `probe()` sends for a request (exported for tests and for logging what was sent). */
export function requestBody(req: ProbeRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { model: req.model };
  if (req.endpoint === "chat") {
    if (typeof req.prompt !== "string") {
      throw new TypeError(
        `Cannot build a chat request: prompt is ${req.prompt.length} token ids, but chat takes text. ` +
          `Send text, or use endpoint "completions" for token ids.`,
      );
    }
    body.messages = [{ role: "user", content: req.prompt }];
  } else {
    body.prompt = req.prompt;
  }
  body.max_tokens = req.max_tokens;
  if (req.min_tokens !== undefined) body.min_tokens = req.min_tokens;
  if (req.ignore_eos !== undefined) body.ignore_eos = req.ignore_eos;
  body.temperature = req.temperature ?? 0;
  if (req.seed !== undefined) body.seed = req.seed;
  body.stream = true;
  body.stream_options = { include_usage: true };
  return body;
}

/** The path of an endpoint. */
export function endpointPath(endpoint: ProbeRequest["endpoint"]): string {
  return endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions";
}

interface Choice {
  text?: string | null;
  delta?: { content?: string | null };
  finish_reason?: string | null;
}
interface Chunk {
  choices?: Choice[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  } | null;
  error?: { message?: string } | string;
  message?: string;
}

/**
 * Sends one streamed request and returns its record. Never throws for a request failure (HTTP error,
 * timeout, refused or dropped connection, malformed stream, empty stream, caller abort); throws only
 * for a request that cannot be built (token ids sent to chat) or a non-loopback host that is not
 * allowed (target.ts), before anything is sent.
 *
 * @example
 * ```ts
 * import { createClock, probe } from "../mod.ts";
 * const clock = createClock();
 * const rec = await probe("http://127.0.0.1:8000", {
 *   endpoint: "completions", model: "m", prompt: "Hello", max_tokens: 16,
 * }, { clock, timeout_ms: 30_000 });
 * if (!rec.ok) console.log(rec.error_kind, rec.error_message);
 * ```
 */
export async function probe(baseUrl: string, req: ProbeRequest, opts: ProbeOptions): Promise<RequestRecord> {
  checkLoadTarget(baseUrl, opts.allow_remote ?? allowRemoteFromEnv());
  const { clock } = opts;
  const body = JSON.stringify(requestBody(req));
  const request_id = opts.request_id ?? crypto.randomUUID();
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "text/event-stream",
    "x-request-id": request_id,
    ...opts.headers,
  };
  const url = baseUrl.replace(/\/+$/, "") + endpointPath(req.endpoint);
  const timeout_ms = opts.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const chat = req.endpoint === "chat";

  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeout_ms);
  const onCallerAbort = () => ac.abort();
  if (opts.signal?.aborted) ac.abort();
  else opts.signal?.addEventListener("abort", onCallerAbort, { once: true });

  const t_send_ms = clock.now();
  const rec: RequestRecord = {
    request_id,
    endpoint: req.endpoint,
    ok: false,
    t_intended_ms: opts.t_intended_ms ?? t_send_ms,
    t_send_ms,
    t_end_ms: t_send_ms,
    chunk_ms: [],
    output_chars: 0,
  };
  if (req.tags) rec.tags = req.tags;

  // Set once, checked after each read: the first failure wins.
  let failure: { kind: ErrorKind; message: string } | undefined;
  let done = false;
  let t_read = 0;
  const onEvent = (ev: EventSourceMessage) => {
    if (failure || done) return;
    rec.t_first_event_ms ??= t_read;
    const data = ev.data;
    if (data === "[DONE]") {
      done = true;
      rec.t_end_ms = t_read;
      return;
    }
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      failure = { kind: "bad_stream", message: `Event data is not JSON: ${clip(data)}` };
      return;
    }
    if (chunk === null || typeof chunk !== "object") {
      failure = { kind: "bad_stream", message: `Event data is not a JSON object: ${clip(data)}` };
      return;
    }
    if (chunk.error !== undefined) {
      failure = { kind: "stream_error", message: errorMessage(chunk) ?? clip(data) };
      return;
    }
    const choices = chunk.choices;
    if (choices && choices.length > 0) {
      rec.t_first_choice_ms ??= t_read;
      let chars = 0;
      for (let i = 0; i < choices.length; i++) {
        const c = choices[i];
        const text = chat ? c.delta?.content : c.text;
        if (text) chars += text.length;
        if (c.finish_reason) rec.finish_reason = c.finish_reason;
      }
      if (chars > 0) {
        rec.t_first_content_ms ??= t_read;
        rec.chunk_ms.push(t_read);
        rec.output_chars += chars;
      }
    }
    const usage = chunk.usage;
    if (usage) {
      if (typeof usage.prompt_tokens === "number") rec.prompt_tokens = usage.prompt_tokens;
      if (typeof usage.completion_tokens === "number") rec.completion_tokens = usage.completion_tokens;
      const cached = usage.prompt_tokens_details?.cached_tokens;
      if (typeof cached === "number") rec.cached_tokens = cached;
    }
  };
  const parser = createParser({
    onEvent,
    onError: (err) => {
      failure ??= { kind: "bad_stream", message: `Malformed event stream: ${err.message}` };
    },
  });

  try {
    const res = opts.pool && url.startsWith("http:")
      ? await socketResponse(opts.pool, url, headers, body, ac.signal, () => clock.now())
      : await fetchResponse(url, headers, body, ac.signal);
    rec.t_headers_ms = clock.now();
    // The socket transport stamps the send at the write itself: the request's build, the pool and other
    // requests started in the same turn would otherwise sit inside this one's TTFT (docs/adr/0016).
    const sent = res.sentTime();
    if (sent !== undefined) {
      rec.t_send_ms = sent;
      rec.t_intended_ms = opts.t_intended_ms ?? sent;
    }
    rec.http_status = res.status;
    // The embedded engine states its arrival time (its own clock); the run joins the rest by request id.
    const arrival = res.header(SERVER_ARRIVAL_HEADER);
    if (arrival !== null && Number.isFinite(Number(arrival))) rec.server = { arrival_ms: Number(arrival) };
    if (!(res.status >= 200 && res.status < 300)) {
      const text = await res.text();
      rec.t_end_ms = clock.now();
      const location = isRedirect(res.status) ? res.header("location") : null;
      if (location !== null) {
        return fail(
          rec,
          "http_status",
          `HTTP ${res.status}: a redirect to ${
            redactUrl(location)
          }, not followed (the lab never follows a redirect on a measured request; point it at the final URL)`,
        );
      }
      return fail(rec, "http_status", `HTTP ${res.status}: ${errorMessage(parseJson(text)) ?? clip(text)}`);
    }
    const type = res.header("content-type") ?? "";
    if (!type.includes("text/event-stream") || !res.hasBody) {
      await res.cancel();
      rec.t_end_ms = clock.now();
      return fail(rec, "bad_stream", `Expected a text/event-stream response, got "${type || "no body"}".`);
    }
    const decoder = new TextDecoder();
    const scan = opts.parse === "parser" ? undefined : new SseScanner(req.endpoint, {
      content(chars) {
        if (failure || done) return;
        rec.t_first_event_ms ??= t_read;
        rec.t_first_choice_ms ??= t_read;
        rec.t_first_content_ms ??= t_read;
        rec.chunk_ms.push(t_read);
        rec.output_chars += chars;
      },
      data: (data) => onEvent({ data, event: undefined, id: undefined }),
      fallback: (bytes) => parser.feed(decoder.decode(bytes, { stream: true })),
    });
    while (true) {
      const value = await res.read();
      // The socket transport stamps the read itself, before this or any other stream parses anything.
      t_read = res.readTime() ?? clock.now();
      if (value === null) {
        parser.feed(decoder.decode());
        break;
      }
      if (scan) scan.feed(value);
      else parser.feed(decoder.decode(value, { stream: true }));
      if (failure) {
        await res.cancel();
        break;
      }
    }
  } catch (err) {
    // An error after [DONE] (a reset while closing) does not undo a complete response.
    if (!done) {
      rec.t_end_ms = clock.now();
      if (opts.signal?.aborted) return fail(rec, "aborted", "The caller aborted the request.");
      if (timedOut) return fail(rec, "timeout", `No complete response within ${timeout_ms} ms (timeout_ms).`);
      const stage = rec.t_headers_ms === undefined ? "before the response" : "mid-stream";
      return fail(rec, "connection", `Connection failed ${stage}: ${describe(err)}`);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onCallerAbort);
  }
  if (!done) rec.t_end_ms = t_read;
  if (failure) {
    ac.abort();
    return fail(rec, failure.kind, failure.message);
  }
  if (rec.t_first_content_ms === undefined) {
    return fail(rec, "empty", `The stream ended without content${done ? "" : " or [DONE]"}.`);
  }
  // A clean end with content but without [DONE] is accepted: not every server sends it.
  rec.ok = true;
  return rec;
}

/** The part of a response probe() reads, over fetch or over the raw-socket pool. */
interface BodyReader {
  status: number;
  hasBody: boolean;
  header(name: string): string | null;
  /** Next bytes of the body, null at its end. */
  read(): Promise<Uint8Array | null>;
  /** When the transport wrote the request, if it stamps that itself (socket). */
  sentTime(): number | undefined;
  /** When the transport stamped the socket read behind the last `read()`, if it does (socket). */
  readTime(): number | undefined;
  text(): Promise<string>;
  cancel(): Promise<void>;
}

async function socketResponse(
  pool: Http1Pool,
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  now: () => number,
): Promise<BodyReader> {
  const u = new URL(url);
  const res = await http1Request(pool, u.pathname + u.search, headers, body, signal, now);
  return {
    readTime: () => res.read_ms,
    sentTime: () => res.sent_ms,
    status: res.status,
    hasBody: true,
    header: (name) => res.headers.get(name.toLowerCase()) ?? null,
    read: res.read,
    text: res.text,
    cancel: () => Promise.resolve(res.cancel()),
  };
}

async function fetchResponse(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<BodyReader> {
  // A measured request never follows a redirect (see guarded_fetch.ts): the 3xx is its failure.
  const res = await fetch(url, { method: "POST", headers, body, signal, redirect: "manual" });
  // One buffer per request, read into and reused (BYOB): no new ArrayBuffer per network read, which
  // keeps the garbage collector (whose pauses are measurement error) quiet. See docs/adr/0003-clock.md.
  // Bodies that are not byte streams fall back to the default reader.
  let byob: ReadableStreamBYOBReader | undefined;
  let plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let buffer = new Uint8Array(0);
  return {
    readTime: () => undefined,
    sentTime: () => undefined,
    status: res.status,
    hasBody: res.body !== null,
    header: (name) => res.headers.get(name),
    async read() {
      if (!byob && !plain) {
        try {
          byob = res.body!.getReader({ mode: "byob" });
          buffer = new Uint8Array(READ_BUFFER_BYTES);
        } catch {
          plain = res.body!.getReader();
        }
      }
      const { value, done } = byob ? await byob.read(buffer) : await plain!.read();
      if (done || value === undefined) return null;
      if (byob) buffer = new Uint8Array(value.buffer as ArrayBuffer);
      return value;
    },
    text: () => res.text(),
    async cancel() {
      if (byob || plain) await (byob ?? plain)!.cancel().catch(() => {});
      else await res.body?.cancel().catch(() => {});
    },
  };
}

function fail(rec: RequestRecord, kind: ErrorKind, message: string): RequestRecord {
  rec.ok = false;
  rec.error_kind = kind;
  rec.error_message = message;
  return rec;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The message of a vLLM / OpenAI error body: `{error: {message}}`, `{error: "..."}` or `{message}`. */
function errorMessage(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const b = body as Chunk;
  if (typeof b.error === "string") return b.error;
  if (b.error && typeof b.error.message === "string") return b.error.message;
  if (typeof b.message === "string") return b.message;
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return `${err.message}${cause}`;
  }
  return String(err);
}

function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
