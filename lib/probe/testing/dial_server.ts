/**
 * An in-process OpenAI-compatible streaming server with dialled-in timing and faults, for tests.
 *
 * It serves `/v1/completions` and `/v1/chat/completions` as vLLM streams them (a role chunk first for chat,
 * one chunk per token, a `choices: []` usage chunk when `stream_options.include_usage`, then `[DONE]`),
 * with a dialled first-token delay (`ttft_ms`, from the request's arrival), a dialled gap between tokens
 * (`itl_ms`), and faults (HTTP errors with vLLM's error body, stalls, dropped connections, error events,
 * malformed JSON, empty streams, delayed headers). It keeps its own ground truth per request (by
 * `x-request-id`): arrival, headers, and the time each token was written, so tests can measure the
 * client's error. Binds 127.0.0.1 on a free port; dispose it with `await using`.
 * @module
 */
import { abortableSleep } from "../../base/sleep.ts";
import type { Clock } from "../clock.ts";

/** A fault the server injects into a response. */
export type DialFault =
  /** Answer with this HTTP status (default 500) and a vLLM-style error body (or `body` as JSON), no stream. */
  | { kind: "http_error"; status?: number; message?: string; body?: unknown }
  /** Stop writing after N tokens and keep the connection open (until the client goes away). */
  | { kind: "stall"; after_tokens: number }
  /** Reset the connection after N tokens (no `[DONE]`, no terminating chunk). */
  | { kind: "drop"; after_tokens: number }
  /** Send vLLM's mid-stream error event after N tokens, then `[DONE]`. */
  | { kind: "error_event"; after_tokens: number; message?: string }
  /** Send an event whose data is not JSON after N tokens. */
  | { kind: "bad_json"; after_tokens: number }
  /** A well-formed stream with no content (finish_reason "stop", 0 completion tokens). */
  | { kind: "empty" }
  /** HTTP 200 with a JSON body instead of an event stream. */
  | { kind: "not_sse" };

/** The timing and shape of one response. */
export interface Dial {
  /** From the request's arrival to the first token being written. Default 0. */
  ttft_ms: number;
  /** Between successive tokens. Default 0. */
  itl_ms: number;
  /** Tokens to generate; default the request's `max_tokens` (16 when absent). */
  tokens?: number;
  /** Hold the response headers this long after arrival. Default 0. */
  headers_delay_ms: number;
  /** usage.prompt_tokens; default token ids' length or ceil(characters / 4). */
  prompt_tokens?: number;
  /** When set, usage carries `prompt_tokens_details.cached_tokens` with this value. */
  cached_tokens?: number;
  fault?: DialFault;
}

/** What the per-request dial function sees. */
export interface DialRequest {
  request_id: string;
  /** Arrival order, from 0. */
  index: number;
  path: string;
  body: Record<string, unknown>;
  headers: Headers;
}

/** Options of {@link dialServer}: the default dial, a per-request override, the clock. */
export interface DialServerOptions extends Partial<Dial> {
  /** Per-request override of the default dial (fault one request of many, vary delays). */
  dial?: (req: DialRequest) => Partial<Dial> | undefined;
  /** Stamp ground truth on this clock (default: raw `performance.now()`). */
  clock?: Clock;
  /** Model name served by /v1/models. Default "dial-model". */
  model?: string;
}

/** The server's own record of one request; times in ms on the server's clock. */
export interface GroundTruth {
  request_id: string;
  index: number;
  path: string;
  body: Record<string, unknown>;
  /** Request headers as received (lower-case names). */
  headers: Record<string, string>;
  arrival_ms: number;
  headers_ms?: number;
  /** When each content token was written, in order. */
  token_ms: number[];
  first_token_ms?: number;
  /** When the stream was closed, errored or abandoned. */
  end_ms?: number;
  outcome?: "done" | "http_error" | "dropped" | "stalled" | "client_gone" | "not_sse";
}

/** A running dial server. */
export interface DialServer extends AsyncDisposable {
  /** e.g. http://127.0.0.1:41234 */
  readonly baseUrl: string;
  readonly port: number;
  /** Ground truth for one request id, once it arrived. */
  truth(request_id: string): GroundTruth | undefined;
  /** All requests in arrival order. */
  truths(): GroundTruth[];
  /** Generation requests currently open (arrived, stream not finished). */
  readonly in_flight: number;
  /** The highest `in_flight` seen. */
  readonly max_in_flight: number;
  /** Ends open streams and shuts the server down. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_DIAL: Dial = { ttft_ms: 0, itl_ms: 0, headers_delay_ms: 0 };
const encoder = new TextEncoder();

/**
 * Starts a dial server on 127.0.0.1 (free port).
 *
 * @example
 * ```ts
 * import { dialServer } from "./dial_server.ts";
 * await using srv = await dialServer({ ttft_ms: 200, itl_ms: 10, tokens: 20 });
 * const res = await fetch(`${srv.baseUrl}/health`);
 * await res.body?.cancel();
 * ```
 */
export function dialServer(opts: DialServerOptions = {}): Promise<DialServer> {
  const now = opts.clock ? opts.clock.now : () => performance.now();
  const model = opts.model ?? "dial-model";
  const { dial: perRequest, clock: _clock, model: _model, ...dialled } = opts;
  const base: Dial = { ...DEFAULT_DIAL, ...stripUndefined(dialled) };
  const byId = new Map<string, GroundTruth>();
  const all: GroundTruth[] = [];
  const open = new Set<AbortController>();
  let in_flight = 0;
  let max_in_flight = 0;
  let closed: Promise<void> | undefined;

  async function generate(req: Request, path: string): Promise<Response> {
    const arrival_ms = now();
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      return errorResponse(400, "Request body is not JSON.");
    }
    const index = all.length;
    const request_id = req.headers.get("x-request-id") ?? `dial-${index}`;
    const truth: GroundTruth = {
      request_id,
      index,
      path,
      body,
      headers: Object.fromEntries(req.headers),
      arrival_ms,
      token_ms: [],
    };
    all.push(truth);
    byId.set(request_id, truth);
    const dial: Dial = {
      ...base,
      ...stripUndefined(perRequest?.({ request_id, index, path, body, headers: req.headers }) ?? {}),
    };
    const ac = new AbortController();
    open.add(ac);
    in_flight++;
    max_in_flight = Math.max(max_in_flight, in_flight);
    const finish = (outcome: GroundTruth["outcome"]) => {
      if (truth.end_ms !== undefined) return;
      truth.end_ms = now();
      truth.outcome ??= outcome;
      in_flight--;
      open.delete(ac);
    };

    if (dial.headers_delay_ms > 0) await sleepUntil(now, arrival_ms + dial.headers_delay_ms, ac.signal);
    const fault = dial.fault;
    if (fault?.kind === "http_error") {
      finish("http_error");
      const status = fault.status ?? 500;
      if (fault.body !== undefined) return Response.json(fault.body, { status });
      return errorResponse(status, fault.message ?? "Dialled internal server error.");
    }
    if (body.stream !== true) {
      finish("http_error");
      return errorResponse(400, "The dial server only streams: send stream: true.");
    }
    if (fault?.kind === "not_sse") {
      finish("not_sse");
      return Response.json({ id: `cmpl-${request_id}`, object: "text_completion", choices: [] });
    }

    const chat = path.endsWith("/chat/completions");
    const tokens = fault?.kind === "empty" ? 0 : (dial.tokens ?? numberOr(body.max_tokens, 16));
    const include_usage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage ===
      true;
    const usage: Record<string, unknown> = {
      prompt_tokens: dial.prompt_tokens ?? promptTokens(body, chat),
      completion_tokens: tokens,
    };
    usage.total_tokens = (usage.prompt_tokens as number) + tokens;
    if (dial.cached_tokens !== undefined) usage.prompt_tokens_details = { cached_tokens: dial.cached_tokens };
    const id = `${chat ? "chatcmpl" : "cmpl"}-${request_id}`;
    const created = Math.floor((performance.timeOrigin + performance.now()) / 1000);
    const chunk = (choice: Record<string, unknown>) =>
      sse(JSON.stringify({
        id,
        object: chat ? "chat.completion.chunk" : "text_completion",
        created,
        model,
        choices: [{ index: 0, ...choice, logprobs: null }],
      }));
    const tokenChunk = (k: number, finish_reason: string | null) =>
      chat
        ? chunk({ delta: { content: tokenText(k) }, finish_reason })
        : chunk({ text: tokenText(k), finish_reason, stop_reason: null });

    const stream = new ReadableStream<Uint8Array>({
      start: async (controller) => {
        const first_ms = Math.max(arrival_ms + dial.ttft_ms, now());
        const write = (bytes: Uint8Array) => controller.enqueue(bytes);
        try {
          if (!await sleepUntil(now, first_ms, ac.signal)) return finish("client_gone");
          if (chat) write(chunk({ delta: { role: "assistant", content: "" }, finish_reason: null }));
          const limit = faultAfter(fault);
          for (let k = 0; k < tokens; k++) {
            if (k > 0 && !await sleepUntil(now, first_ms + k * dial.itl_ms, ac.signal)) {
              return finish("client_gone");
            }
            if (k === limit) break;
            write(tokenChunk(k, k === tokens - 1 ? "length" : null));
            const t = now();
            truth.token_ms.push(t);
            truth.first_token_ms ??= t;
          }
          switch (fault?.kind) {
            case "stall":
              truth.outcome = "stalled";
              await new Promise<void>((resolve) => {
                if (ac.signal.aborted) resolve();
                ac.signal.addEventListener("abort", () => resolve(), { once: true });
              });
              controller.error(new Error("Dial server: stalled stream ended."));
              return finish("stalled");
            case "drop":
              // The tokens already written reach the client before the reset: erroring the body makes
              // the HTTP stack reset the connection, and a reset discards what the stack had not yet sent
              // and what the client had not yet read. With only the dial's gap (5 ms in stream_test) before
              // the reset, a clean-clone gate run lost the last token once; 50 ms leaves room for a VM's stalls.
              await sleepUntil(now, now() + 50, ac.signal);
              controller.error(new Error("Dial server: dropped connection."));
              return finish("dropped");
            case "error_event":
              write(sse(JSON.stringify({
                error: {
                  message: fault.message ?? "Dialled mid-stream error.",
                  type: "InternalServerError",
                  param: null,
                  code: 500,
                },
              })));
              break;
            case "bad_json":
              write(sse('{"choices": [ not json'));
              break;
            case "empty":
              write(
                chat
                  ? chunk({ delta: { content: "" }, finish_reason: "stop" })
                  : chunk({ text: "", finish_reason: "stop", stop_reason: null }),
              );
              break;
          }
          if (include_usage) {
            write(sse(JSON.stringify({ id, object: "chunk", created, model, choices: [], usage })));
          }
          write(sse("[DONE]"));
          controller.close();
          finish("done");
        } catch {
          // The client went away while we wrote: nothing left to do.
          finish("client_gone");
        }
      },
      cancel: () => {
        ac.abort();
        finish("client_gone");
      },
    });
    truth.headers_ms = now();
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-servelab-arrival-ms": arrival_ms.toFixed(3),
      },
    });
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    // Stalls and drops end by erroring the body stream on purpose: nothing to report.
    onError: () => new Response(null, { status: 500 }),
  }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/health") return new Response(null, { status: 200 });
    if (req.method === "GET" && path === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: model, object: "model", owned_by: "dial" }] });
    }
    if (req.method === "POST" && (path === "/v1/completions" || path === "/v1/chat/completions")) {
      return generate(req, path);
    }
    return errorResponse(404, `Not found: ${req.method} ${path}.`);
  });

  const close = () => {
    closed ??= (async () => {
      for (const ac of open) ac.abort();
      await server.shutdown();
    })();
    return closed;
  };

  return Promise.resolve({
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    truth: (request_id: string) => byId.get(request_id),
    truths: () => [...all],
    get in_flight() {
      return in_flight;
    },
    get max_in_flight() {
      return max_in_flight;
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}

/** The text of token k: short, distinct, known length. */
export function tokenText(k: number): string {
  return ` t${k}`;
}

function sse(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}

/** vLLM's error body (entrypoints/openai: ErrorResponse). */
function errorResponse(status: number, message: string): Response {
  const type = status >= 500 ? "InternalServerError" : status === 404 ? "NotFoundError" : "BadRequestError";
  return Response.json({ error: { message, type, param: null, code: status } }, { status });
}

function faultAfter(fault: DialFault | undefined): number {
  switch (fault?.kind) {
    case "stall":
    case "drop":
    case "error_event":
    case "bad_json":
      return fault.after_tokens;
    default:
      return Infinity;
  }
}

function promptTokens(body: Record<string, unknown>, chat: boolean): number {
  if (!chat && Array.isArray(body.prompt)) return body.prompt.length;
  const text = chat
    ? ((body.messages as { content?: string }[] | undefined) ?? []).map((m) => m.content ?? "").join("")
    : String(body.prompt ?? "");
  return Math.max(1, Math.ceil(text.length / 4));
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Sleeps until `now() >= t_ms`; resolves false if the signal aborted first. */
function sleepUntil(now: () => number, t_ms: number, signal: AbortSignal): Promise<boolean> {
  return abortableSleep(Math.ceil(t_ms - now()), signal);
}
