/**
 * The embedded engine's HTTP API, vLLM-compatible (vLLM 0.11.0 shapes): a web-standard handler
 * (`createSimHandler`, the in-process test seam) and `serveSim` (Deno.serve on 127.0.0.1).
 *
 * Endpoints: GET /health, /version, /v1/models, /metrics; POST /tokenize, /detokenize, /v1/completions,
 * /v1/chat/completions; POST /reset_prefix_cache with VLLM_SERVER_DEV_MODE=1; GET /servelab/ground_truth
 * with --sim-ground-truth; GET /servelab/heap (heap after a full GC) with --sim-debug-heap. The API key guards /v1 paths only, like vLLM.
 * @module
 */
import type { ServeConfig } from "../engine/config.ts";
import { createSim, type Sim, type SimHostOptions } from "./instance.ts";
import { SIM_VERSION } from "./log.ts";
import {
  ApiError,
  ChatRequest,
  chatResponse,
  chunkWriter,
  CompletionRequest,
  completionResponse,
  contextLengthError,
  DetokenizeRequest,
  errorBody,
  messageText,
  parseBody,
  type ResponseHead,
  sse,
  TokenizeRequest,
  usage,
  usageChunk,
} from "./openai_api.ts";
import { applyChatTemplate, decode, encode, EOS_TOKEN_ID, tokenStrings, VOCAB_SIZE } from "./tokenizer.ts";
import type { FinishEvent } from "./types.ts";
import type { RequestOutput } from "./runtime.ts";
import { directResponse, DirectStream, tokenChunks } from "./direct_stream.ts";
import { serveHttp1 } from "./http1_server.ts";

/** Header carrying the request's arrival on the server clock (ms), with --sim-ground-truth. */
export const ARRIVAL_HEADER = "x-servelab-arrival-ms";

const json = (body: unknown, status = 200, headers: HeadersInit = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const apiError = (e: ApiError, headers: HeadersInit = {}) => json(errorBody(e), e.status, headers);
const notFound = () => json({ detail: "Not Found" }, 404);

/** The request id: `x-request-id` when the client sends one, else a random one (vLLM's behaviour). */
function baseRequestId(req: Request): string {
  return req.headers.get("x-request-id") || crypto.randomUUID().replaceAll("-", "");
}

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(
      `Request body is not valid JSON (${
        (e as Error).message
      }); send a JSON object with Content-Type: application/json.`,
    );
  }
}

function checkModel(sim: Sim, model: string | null | undefined) {
  if (model && model !== sim.model_name) {
    throw new ApiError(`The model \`${model}\` does not exist.`, 404, "NotFoundError", "model");
  }
}

function checkIds(ids: number[]) {
  for (const id of ids) {
    if (id >= VOCAB_SIZE) {
      throw new ApiError(
        `Token id ${id} is out of vocabulary (the embedded tokenizer has ${VOCAB_SIZE} tokens); use ids from /tokenize.`,
        400,
        "BadRequestError",
        "prompt",
      );
    }
  }
}

/** Prompt token ids of a completions request (one prompt: text, ids, or a list holding one of them). */
function completionPromptIds(body: CompletionRequest): number[] {
  let p = body.prompt;
  if (Array.isArray(p) && p.length > 0 && typeof p[0] !== "number") {
    if (p.length !== 1) {
      throw new ApiError(
        `The embedded engine serves one prompt per request, got a batch of ${p.length}; send them as separate requests.`,
        400,
        "BadRequestError",
        "prompt",
      );
    }
    p = p[0] as string | number[];
  }
  if (typeof p === "string") return encode(p);
  const ids = p as number[];
  if (ids.length === 0) {
    throw new ApiError(
      "Prompt is empty; send text or at least one token id.",
      400,
      "BadRequestError",
      "prompt",
    );
  }
  checkIds(ids);
  return ids;
}

function chatPrompt(messages: ChatRequest["messages"], add_generation_prompt: boolean): string {
  return applyChatTemplate(messages.map((m) => ({ role: m.role, content: messageText(m) })), {
    add_generation_prompt,
  });
}

interface Generation {
  kind: "completion" | "chat";
  prompt_ids: number[];
  max_tokens: number;
  min_tokens?: number;
  ignore_eos?: boolean;
  seed?: number;
  stream: boolean;
  include_usage: boolean;
  continuous_usage: boolean;
}

/** Validates sampling parameters and lengths with vLLM's messages. */
function generation(
  sim: Sim,
  kind: Generation["kind"],
  body: CompletionRequest | ChatRequest,
  prompt_ids: number[],
  requested_max: number | null | undefined,
): Generation {
  const L = sim.plan.max_model_len;
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw new ApiError(
      `n=${body.n} is not supported by the embedded engine: it returns one choice per request; send n=1 (or omit it).`,
      400,
      "BadRequestError",
      "n",
    );
  }
  if (requested_max !== undefined && requested_max !== null && requested_max < 1) {
    throw new ApiError(
      `max_tokens must be at least 1, got ${requested_max}.`,
      400,
      "BadRequestError",
      "max_tokens",
    );
  }
  let max_tokens: number;
  if (requested_max === undefined || requested_max === null) {
    if (kind === "completion") max_tokens = 16;
    else {
      if (prompt_ids.length >= L) throw contextLengthError(L, prompt_ids.length);
      max_tokens = L - prompt_ids.length;
    }
  } else max_tokens = requested_max;
  if (prompt_ids.length + max_tokens > L) throw contextLengthError(L, prompt_ids.length, max_tokens);
  const min_tokens = body.min_tokens ?? undefined;
  if (min_tokens !== undefined && min_tokens > max_tokens) {
    throw new ApiError(
      `min_tokens must be less than or equal to max_tokens=${max_tokens}, got ${min_tokens}.`,
      400,
      "BadRequestError",
      "min_tokens",
    );
  }
  const force = sim.cfg.extra_args.includes("--enable-force-include-usage");
  return {
    kind,
    prompt_ids,
    max_tokens,
    min_tokens,
    ignore_eos: body.ignore_eos ?? undefined,
    seed: body.seed ?? undefined,
    stream: body.stream === true,
    include_usage: force || body.stream_options?.include_usage === true,
    continuous_usage: force || (body.stream_options?.include_usage === true &&
      body.stream_options?.continuous_usage_stats === true),
  };
}

/** Text of one generated token as the stream shows it (EOS is a special token: skipped). */
function tokenText(id: number): string {
  return id === EOS_TOKEN_ID ? "" : decode([id], { skip_special_tokens: true });
}

/** A scheduler id not used by a running request (clients may reuse x-request-id). */
function unique(sim: Sim, id: string): string {
  if (!sim.runtime.isRunning(id)) return id;
  let i = 1;
  while (sim.runtime.isRunning(`${id}-${i}`)) i++;
  return `${id}-${i}`;
}

async function generate(
  sim: Sim,
  req: Request,
  kind: Generation["kind"],
  direct: boolean,
): Promise<Response> {
  const base = baseRequestId(req);
  const headers: Record<string, string> = { "x-request-id": base };
  try {
    if (sim.dead) {
      throw new ApiError(
        "EngineCore encountered an issue. See stack trace (above) for the root cause.",
        500,
        "InternalServerError",
      );
    }
    const raw = await readJson(req);
    let g: Generation;
    if (kind === "completion") {
      const body = parseBody(CompletionRequest, raw, "completion");
      checkModel(sim, body.model);
      g = generation(sim, kind, body, completionPromptIds(body), body.max_tokens);
    } else {
      const body = parseBody(ChatRequest, raw, "chat completion");
      checkModel(sim, body.model);
      const ids = encode(chatPrompt(body.messages, body.add_generation_prompt ?? true));
      g = generation(sim, kind, body, ids, body.max_completion_tokens ?? body.max_tokens);
    }
    const faults = sim.faults.forRequest(g.max_tokens);
    if (faults.http_500) {
      throw new ApiError(
        "Simulated internal server error (fault injected by --sim-http-500-rate).",
        500,
        "InternalServerError",
      );
    }
    const id = unique(sim, `${kind === "chat" ? "chatcmpl" : "cmpl"}-${base}`);
    const head: ResponseHead = { id, created: Math.floor(Date.now() / 1000), model: sim.model_name };
    const cached = (f: FinishEvent) => sim.cfg.enable_prompt_tokens_details ? f.cached_tokens : undefined;
    const submit = (listener: (o: RequestOutput) => boolean | void) => {
      const arrival = sim.runtime.submit(
        {
          id,
          prompt_ids: g.prompt_ids,
          max_tokens: g.max_tokens,
          min_tokens: g.min_tokens,
          ignore_eos: g.ignore_eos,
          seed: g.seed,
        },
        listener,
        sim.frontendMs(g.prompt_ids.length, sim.runtime.inFlight),
      );
      if (sim.cfg.sim.ground_truth) headers[ARRIVAL_HEADER] = arrival.toFixed(3);
    };
    const finished = (f: FinishEvent) => {
      if (sim.faults.requestFinished()) crash(sim);
      return f;
    };
    const stopAt = Math.min(faults.stall_after_tokens ?? Infinity, faults.drop_after_tokens ?? Infinity);
    const dropping = faults.drop_after_tokens !== undefined &&
      faults.drop_after_tokens <= (faults.stall_after_tokens ?? Infinity);

    if (!g.stream) {
      let text = "";
      let n = 0;
      const done = new Promise<FinishEvent | "cut">((resolve) => {
        submit((o) => {
          if (o.token) {
            n++;
            text += tokenText(o.token.token_id);
          }
          if (n >= stopAt && !o.finish) {
            resolve("cut");
            return false;
          }
          if (o.finish) resolve(finished(o.finish));
        });
        req.signal.addEventListener("abort", () => sim.runtime.abort(id), { once: true });
      });
      const f = await done;
      if (f === "cut") {
        if (dropping) return droppedResponse(headers);
        await new Promise((r) => req.signal.addEventListener("abort", r, { once: true }));
        return new Response(null, { status: 499 });
      }
      const u = usage(f.prompt_tokens, f.completion_tokens, cached(f));
      const body = kind === "chat"
        ? chatResponse(head, text, f.reason, u)
        : completionResponse(head, text, f.reason, u);
      return json(body, 200, headers);
    }

    if (direct) {
      return directStream(sim, kind, head, g, submit, finished, stopAt, dropping, cached, headers, id);
    }
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      cancel() {
        sim.open_streams.delete(controller);
        sim.runtime.abort(id);
      },
    });
    sim.open_streams.add(controller);
    const end = () => {
      sim.open_streams.delete(controller);
      controller.close();
    };
    const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const writer = chunkWriter(kind, head);
    let n = 0;
    submit((o) => {
      if (n >= stopAt) return false;
      if (o.token) {
        n++;
        const f = o.finish;
        const reason = f ? f.reason : null;
        const run = g.continuous_usage ? usage(g.prompt_ids.length, n, undefined) : undefined;
        if (kind === "chat" && n === 1) controller.enqueue(writer.role(run));
        controller.enqueue(writer.content(tokenText(o.token.token_id), reason, run));
      }
      if (o.finish) {
        const f = finished(o.finish);
        if (g.include_usage) {
          controller.enqueue(
            sse(usageChunk(head, object, usage(f.prompt_tokens, f.completion_tokens, cached(f)))),
          );
        }
        controller.enqueue(sse("[DONE]"));
        end();
        return;
      }
      if (n >= stopAt) {
        if (dropping) {
          sim.open_streams.delete(controller);
          controller.error(new Error("connection dropped (fault injected by --sim-drop-connection-rate)"));
        }
        return false;
      }
    });
    return new Response(body, {
      status: 200,
      headers: {
        ...headers,
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
      },
    });
  } catch (e) {
    if (e instanceof ApiError) return apiError(e, headers);
    throw e;
  }
}

/**
 * The streamed body for the raw-socket server: the same events as the ReadableStream path above, each
 * step's events in one `send` (one socket write), plain token chunks from pre-encoded parts.
 */
function directStream(
  sim: Sim,
  kind: Generation["kind"],
  head: ResponseHead,
  g: Generation,
  submit: (listener: (o: RequestOutput) => boolean | void) => void,
  finished: (f: FinishEvent) => FinishEvent,
  stopAt: number,
  dropping: boolean,
  cached: (f: FinishEvent) => number | undefined,
  headers: Record<string, string>,
  id: string,
): Response {
  const out: DirectStream = new DirectStream(() => {
    sim.open_streams.delete(out);
    sim.runtime.abort(id);
  });
  sim.open_streams.add(out);
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const writer = chunkWriter(kind, head);
  const plain = tokenChunks(kind, head, tokenText);
  let n = 0;
  submit((o) => {
    if (n >= stopAt) return false;
    const f = o.finish;
    if (o.token && !f && !g.continuous_usage && !(kind === "chat" && n === 0) && n + 1 < stopAt) {
      // Nearly every step of a stream: one plain token chunk.
      n++;
      out.send(...plain(o.token.token_id));
      return;
    }
    const pieces: Uint8Array[] = [];
    if (o.token) {
      n++;
      const run = g.continuous_usage ? usage(g.prompt_ids.length, n, undefined) : undefined;
      if (kind === "chat" && n === 1) pieces.push(writer.role(run));
      pieces.push(writer.content(tokenText(o.token.token_id), f ? f.reason : null, run));
    }
    if (f) {
      finished(f);
      if (g.include_usage) {
        pieces.push(sse(usageChunk(head, object, usage(f.prompt_tokens, f.completion_tokens, cached(f)))));
      }
      pieces.push(sse("[DONE]"));
      sim.open_streams.delete(out);
      out.end(...pieces);
      return;
    }
    if (pieces.length) out.send(...pieces);
    if (n >= stopAt) {
      if (dropping) {
        sim.open_streams.delete(out);
        out.fail(new Error("connection dropped (fault injected by --sim-drop-connection-rate)"));
      }
      return false;
    }
  });
  return directResponse(out, 200, {
    ...headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
  });
}

/** A response whose body fails at once: the client sees the connection cut. */
function droppedResponse(headers: Record<string, string>): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.error(new Error("connection dropped (fault injected by --sim-drop-connection-rate)"));
    },
  });
  return new Response(body, { status: 200, headers: { ...headers, "content-type": "application/json" } });
}

/**
 * The crash fault: the engine is dead at once (health 503, requests 500); the host's onCrash (main.ts:
 * exit 137) runs a moment later so the last response's bytes leave the process first.
 */
function crash(sim: Sim) {
  sim.dead = true;
  const onCrash = sim.host.onCrash;
  if (onCrash) setTimeout(onCrash, 20);
}

async function tokenize(sim: Sim, req: Request): Promise<Response> {
  const body = parseBody(TokenizeRequest, await readJson(req), "tokenize");
  checkModel(sim, body.model);
  const ids = "messages" in body && Array.isArray(body.messages)
    ? encode(chatPrompt(body.messages as ChatRequest["messages"], body.add_generation_prompt !== false))
    : encode(String(body.prompt));
  const strs = (body as { return_token_strs?: unknown }).return_token_strs === true
    ? tokenStrings(ids)
    : null;
  return json({ count: ids.length, max_model_len: sim.plan.max_model_len, tokens: ids, token_strs: strs });
}

async function detokenize(sim: Sim, req: Request): Promise<Response> {
  const body = parseBody(DetokenizeRequest, await readJson(req), "detokenize");
  checkModel(sim, body.model);
  checkIds(body.tokens);
  return json({ prompt: decode(body.tokens) });
}

function models(sim: Sim): Response {
  return json({
    object: "list",
    data: [{
      id: sim.model_name,
      object: "model",
      created: Math.floor(Date.now() / 1000),
      owned_by: "vllm",
      root: sim.cfg.model,
      parent: null,
      max_model_len: sim.plan.max_model_len,
      permission: [{
        id: `modelperm-${sim.model_name.length}`,
        object: "model_permission",
        created: Math.floor(Date.now() / 1000),
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: "*",
        group: null,
        is_blocking: false,
      }],
    }],
  });
}

function groundTruth(sim: Sim, url: URL): Response {
  const ids = url.searchParams.getAll("request_id");
  if (ids.length === 0) return json({ data: sim.runtime.allGroundTruth() });
  const lookup = (id: string) =>
    sim.runtime.groundTruth(id) ?? sim.runtime.groundTruth(`cmpl-${id}`) ??
      sim.runtime.groundTruth(`chatcmpl-${id}`);
  if (ids.length === 1) {
    const gt = lookup(ids[0]);
    return gt
      ? json(gt)
      : json({ detail: `No ground truth for request_id '${ids[0]}' (unknown or dropped).` }, 404);
  }
  return json({ data: ids.map(lookup).filter((x) => x !== undefined) });
}

const MIB = 1024 * 1024;

/**
 * GET /servelab/gpu: the simulated device as nvidia-smi would report it (SIMULATED), from the engine's
 * model: total memory of the profile, memory used (weights, activations, graphs and the KV pool the memory
 * plan reserved), and the busy time so far; a client's two readings give utilization.gpu over the interval
 * (busy ms / elapsed ms, as nvidia-smi's busy share of its sample period).
 */
function simGpu(sim: Sim): Response {
  const p = sim.plan;
  const used = p.weights_bytes + p.activation_bytes + p.graph_bytes + Math.max(0, p.available_kv_bytes);
  return json({
    simulated: true,
    name: sim.gpu.name,
    memory_total_mib: Math.round(p.total_bytes / MIB),
    memory_used_mib: Math.round(Math.min(used, p.total_bytes) / MIB),
    busy_ms_total: sim.runtime.busyMs,
    now_ms: sim.runtime.clock.now(),
  });
}

/**
 * GET /servelab/heap (with --sim-debug-heap): a full, synchronous garbage collection, then the heap and
 * RSS in bytes and the ground-truth records kept. A 503 when the process was started without
 * `--v8-flags=--expose-gc` (the launcher adds it with --sim-debug-heap): a heap before GC would mislead.
 */
function heapAfterGc(sim: Sim): Response {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") {
    return json({
      detail: "No garbage collector to call: start the engine with deno run --v8-flags=--expose-gc " +
        "(launch() does when --sim-debug-heap is on).",
    }, 503);
  }
  gc();
  const m = Deno.memoryUsage();
  return json({
    heap_used_bytes: m.heapUsed,
    heap_total_bytes: m.heapTotal,
    external_bytes: m.external,
    rss_bytes: m.rss,
    ground_truth_records: sim.runtime.allGroundTruth().length,
  });
}

/**
 * The engine's HTTP handler: a web-standard function, usable in-process (tests) or under Deno.serve.
 *
 * @example
 * ```ts
 * const handler = createSimHandler(createSim(cfg, { clock: virtualClock() }));
 * const r = await handler(new Request("http://sim/v1/models"));
 * (await r.json()).data[0].max_model_len;
 * ```
 */
export function createSimHandler(
  sim: Sim,
  opts: { direct?: boolean } = {},
): (req: Request) => Promise<Response> {
  const direct = opts.direct === true;
  return async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    const method = req.method;
    if (sim.api_key && (path.startsWith("/v1") || path.startsWith("/v2") || path.startsWith("/inference"))) {
      if (req.headers.get("authorization") !== `Bearer ${sim.api_key}`) {
        return json({ error: "Unauthorized" }, 401);
      }
    }
    const route = (m: string, p: string) => method === m && path === p;
    try {
      if (route("GET", "/health")) return new Response(null, { status: sim.dead ? 503 : 200 });
      if (route("GET", "/version")) return json({ version: SIM_VERSION });
      if (route("GET", "/v1/models")) return models(sim);
      if (route("GET", "/metrics")) {
        return new Response(await sim.metrics.render(sim.runtime.stats()), {
          headers: { "content-type": sim.metrics.contentType },
        });
      }
      if (route("POST", "/v1/completions")) return await generate(sim, req, "completion", direct);
      if (route("POST", "/v1/chat/completions")) return await generate(sim, req, "chat", direct);
      if (route("POST", "/tokenize")) return await tokenize(sim, req);
      if (route("POST", "/detokenize")) return await detokenize(sim, req);
      if (path === "/reset_prefix_cache" && sim.dev_mode) {
        if (method !== "POST") return json({ detail: "Method Not Allowed" }, 405);
        if (!sim.runtime.resetPrefixCache()) {
          sim.host.log?.("Failed to reset prefix cache because some blocks are not freed yet");
        }
        return new Response(null, { status: 200 });
      }
      if (route("GET", "/servelab/gpu")) return simGpu(sim);
      if (path === "/servelab/heap" && sim.cfg.sim.debug_heap && method === "GET") return heapAfterGc(sim);
      if (path === "/servelab/ground_truth" && sim.cfg.sim.ground_truth && method === "GET") {
        return groundTruth(sim, url);
      }
      const known = [
        "/health",
        "/version",
        "/v1/models",
        "/metrics",
        "/v1/completions",
        "/v1/chat/completions",
        "/tokenize",
        "/detokenize",
      ];
      if (known.includes(path)) return json({ detail: "Method Not Allowed" }, 405);
      return notFound();
    } catch (e) {
      if (e instanceof ApiError) return apiError(e);
      throw e;
    }
  };
}

/** A listening embedded engine. */
export interface SimServer extends AsyncDisposable {
  readonly sim: Sim;
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Closes open streams, stops the runtime and the listener. */
  shutdown(): Promise<void>;
}

/** Options of {@link serveSim}. */
export interface ServeSimOptions extends SimHostOptions {
  /** Overrides cfg.port (0: a free port). */
  port?: number;
  /**
   * The HTTP server: "socket" (default; lib/sim/http1_server.ts, one socket write per stream per engine
   * step) or "deno" (Deno.serve with web streams, the server before issue 22). Default: the environment's
   * SERVELAB_SIM_HTTP, else "socket".
   */
  http?: SimHttp;
}

/** Which HTTP server serves the embedded engine. */
export type SimHttp = "socket" | "deno";

/** The `http` option, or SERVELAB_SIM_HTTP, or "socket"; anything else is an error naming the fix. */
export function simHttp(opt: SimHttp | undefined, env: Record<string, string | undefined>): SimHttp {
  const v = opt ?? env.SERVELAB_SIM_HTTP ?? "socket";
  if (v !== "socket" && v !== "deno") {
    throw new Error(
      `SERVELAB_SIM_HTTP='${v}' is not a server of the embedded engine; use 'socket' (default) or 'deno'.`,
    );
  }
  return v;
}

/**
 * Builds an engine and serves it on 127.0.0.1 (never another interface).
 *
 * @example
 * ```ts
 * await using srv = await serveSim(parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct" }), { port: 0 });
 * await fetch(`${srv.url}/health`);
 * ```
 */
export async function serveSim(cfg: ServeConfig, opts: ServeSimOptions = {}): Promise<SimServer> {
  const http = simHttp(opts.http, opts.env ?? { ...Deno.env.toObject(), ...cfg.env });
  const sim = createSim(cfg, opts);
  const onError = (e: unknown) => {
    opts.log?.(`Internal server error: ${(e as Error)?.message ?? e}`);
    return apiError(new ApiError("Internal server error.", 500, "InternalServerError"));
  };
  let port: number;
  let finished: Promise<void>;
  let stop: () => Promise<void>;
  if (http === "socket") {
    let server;
    try {
      server = serveHttp1(createSimHandler(sim, { direct: true }), { port: opts.port ?? cfg.port, onError });
    } catch (e) {
      await sim.close();
      throw e;
    }
    port = server.port;
    finished = server.finished;
    stop = () => server.shutdown();
  } else {
    const ac = new AbortController();
    let resolvePort!: (p: number) => void;
    const portReady = new Promise<number>((r) => (resolvePort = r));
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: opts.port ?? cfg.port,
      signal: ac.signal,
      onListen: ({ port }) => resolvePort(port),
      onError,
    }, createSimHandler(sim));
    port = await portReady;
    finished = server.finished;
    stop = async () => {
      ac.abort();
      await server.finished;
    };
  }
  let stopping: Promise<void> | undefined;
  const srv: SimServer = {
    sim,
    port,
    url: `http://127.0.0.1:${port}`,
    finished,
    shutdown() {
      stopping ??= (async () => {
        await sim.close();
        await stop();
      })();
      return stopping;
    },
    [Symbol.asyncDispose]() {
      return srv.shutdown();
    },
  };
  return srv;
}
