/**
 * A stand-in server of the lab's own in the shape of a server that is not vLLM: an in-process proxy on
 * 127.0.0.1 in front of an OpenAI-compatible upstream (the embedded engine, the dial server) that takes away
 * what such servers lack or renames what they name differently:
 *
 * - `tokenize: false`: `/tokenize` answers 404 (SGLang, TGI, Ollama, LiteLLM have none);
 * - `metrics: false`: `/metrics` answers 404; `metrics: "sglang" | "tgi" | "llamacpp"`: the upstream's vLLM
 *   metric names renamed to that server's (names with no counterpart dropped);
 * - `usage: "on_request"`: usage chunks only when `stream_options.include_usage` is set; `"never"`: none;
 * - `cached_tokens: false`: `usage.prompt_tokens_details` removed;
 * - `version: false`: `/version` answers 404; `token_ids: false`: token-id prompts refused with 400.
 *
 * Test seam (lib/probe/testing), not part of lib/mod.ts. Dispose with `await using`.
 * @module
 */

/** What the stand-in takes away or renames. Default: nothing (a transparent proxy). */
export interface ServerShape {
  tokenize?: boolean;
  metrics?: boolean | "sglang" | "tgi" | "llamacpp";
  usage?: "upstream" | "on_request" | "never";
  cached_tokens?: boolean;
  version?: boolean;
  token_ids?: boolean;
}

/** The shapes the issue names, by name. */
export const SHAPES: Readonly<Record<string, ServerShape>> = {
  no_tokenize: { tokenize: false },
  no_metrics: { metrics: false },
  usage_on_request: { usage: "on_request", cached_tokens: false },
  sglang: { tokenize: false, metrics: "sglang", usage: "on_request", version: false },
  tgi: { tokenize: false, metrics: "tgi", usage: "on_request", cached_tokens: false, version: false },
  llamacpp: { metrics: "llamacpp", usage: "on_request", cached_tokens: false, version: false },
  bare: { tokenize: false, metrics: false, usage: "on_request", cached_tokens: false, version: false },
};

/** A running stand-in. */
export interface ShapeProxy extends AsyncDisposable {
  readonly baseUrl: string;
  /** Requests seen, by path. */
  readonly hits: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** vLLM name -> the other server's name (lib/scrape/vllm_metrics.ts aliases); names not listed are dropped. */
const RENAME: Readonly<Record<"sglang" | "tgi" | "llamacpp", Readonly<Record<string, string>>>> = {
  sglang: {
    "vllm:num_requests_running": "sglang:num_running_reqs",
    "vllm:num_requests_waiting": "sglang:num_queue_reqs",
    "vllm:kv_cache_usage_perc": "sglang:token_usage",
    "vllm:prompt_tokens_total": "sglang:prompt_tokens_total",
    "vllm:generation_tokens_total": "sglang:generation_tokens_total",
    "vllm:prefix_cache_hits_total": "sglang:cached_tokens_total",
    "vllm:request_success_total": "sglang:num_requests_total",
    "vllm:time_to_first_token_seconds": "sglang:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds": "sglang:inter_token_latency_seconds",
    "vllm:e2e_request_latency_seconds": "sglang:e2e_request_latency_seconds",
  },
  tgi: {
    "vllm:num_requests_running": "tgi_batch_current_size",
    "vllm:num_requests_waiting": "tgi_queue_size",
    "vllm:request_success_total": "tgi_request_success",
    "vllm:e2e_request_latency_seconds": "tgi_request_duration",
  },
  llamacpp: {
    "vllm:num_requests_running": "llamacpp:requests_processing",
    "vllm:num_requests_waiting": "llamacpp:requests_deferred",
    "vllm:prompt_tokens_total": "llamacpp:prompt_tokens_total",
    "vllm:generation_tokens_total": "llamacpp:tokens_predicted_total",
  },
};

/**
 * Rewrites vLLM's Prometheus text into another server's names; lines of unmapped `vllm:` names are dropped.
 *
 * @example
 * ```ts
 * renameMetrics("vllm:num_requests_waiting 0\n", "tgi"); // "tgi_queue_size 0\n"
 * ```
 */
export function renameMetrics(text: string, to: "sglang" | "tgi" | "llamacpp"): string {
  const map = RENAME[to];
  const names = Object.keys(map).sort((a, b) => b.length - a.length);
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^(# (?:HELP|TYPE) )?([A-Za-z_:][A-Za-z0-9_:]*)(.*)$/.exec(line);
    if (!m || !m[2].startsWith("vllm:")) {
      out.push(line);
      continue;
    }
    const name = names.find((n) =>
      m[2] === n || (m[2].startsWith(n) && /^_(bucket|sum|count)$/.test(m[2].slice(n.length)))
    );
    if (!name) continue;
    out.push(`${m[1] ?? ""}${map[name]}${m[2].slice(name.length)}${m[3]}`);
  }
  return out.join("\n");
}

function reshapeEvent(data: string, keepUsage: boolean, cached: boolean): string | undefined {
  if (data === "[DONE]") return data;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(data);
  } catch {
    return data;
  }
  if (obj.usage && typeof obj.usage === "object") {
    if (!keepUsage) {
      if (Array.isArray(obj.choices) && obj.choices.length === 0) return undefined;
      delete obj.usage;
    } else if (!cached) delete (obj.usage as Record<string, unknown>).prompt_tokens_details;
  }
  return JSON.stringify(obj);
}

function reshapeStream(body: ReadableStream<Uint8Array>, keepUsage: boolean, cached: boolean) {
  let buf = "";
  const enc = new TextEncoder();
  return body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
    .pipeThrough(
      new TransformStream<string, Uint8Array>({
        transform(chunk, ctl) {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const event = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = event.startsWith("data:") ? event.slice(5).trim() : undefined;
            if (data === undefined) {
              ctl.enqueue(enc.encode(`${event}\n\n`));
              continue;
            }
            const next = reshapeEvent(data, keepUsage, cached);
            if (next !== undefined) ctl.enqueue(enc.encode(`data: ${next}\n\n`));
          }
        },
        flush(ctl) {
          if (buf) ctl.enqueue(enc.encode(buf));
        },
      }),
    );
}

/**
 * Starts a stand-in in front of `upstream` (a base URL) with the given shape.
 *
 * @example
 * ```ts
 * await using sglang = await shapeProxy(engine.baseUrl, SHAPES.sglang);
 * ```
 */
export function shapeProxy(upstream: string, shape: ServerShape = {}): Promise<ShapeProxy> {
  const up = upstream.replace(/\/+$/, "");
  const hits = new Map<string, number>();
  const notFound = () => new Response(JSON.stringify({ detail: "Not Found" }), { status: 404 });
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === "/tokenize" && shape.tokenize === false) return notFound();
    if (path === "/version" && shape.version === false) return notFound();
    if (path === "/metrics" && shape.metrics === false) return notFound();
    const bodyText = req.method === "POST" ? await req.text() : undefined;
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = bodyText ? JSON.parse(bodyText) : undefined;
    } catch { /* forwarded as is */ }
    if (shape.token_ids === false && parsed && Array.isArray(parsed.prompt)) {
      return new Response(JSON.stringify({ error: { message: "prompt must be a string" } }), { status: 400 });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("content-length");
    let res: Response;
    try {
      res = await fetch(`${up}${path}${url.search}`, {
        method: req.method,
        headers,
        body: bodyText,
      });
    } catch (e) {
      return new Response(`upstream: ${(e as Error).message}`, { status: 502 });
    }
    const out = new Headers(res.headers);
    out.delete("content-length");
    out.delete("content-encoding");
    if (path === "/metrics" && typeof shape.metrics === "string" && res.ok) {
      return new Response(renameMetrics(await res.text(), shape.metrics), {
        status: res.status,
        headers: out,
      });
    }
    const usage = shape.usage ?? "upstream";
    const cached = shape.cached_tokens !== false;
    if (res.body && (usage !== "upstream" || !cached) && /^\/v1\/(chat\/)?completions$/.test(path)) {
      const opts = parsed?.stream_options as { include_usage?: boolean } | undefined;
      const keep = usage === "upstream" || (usage === "on_request" && opts?.include_usage === true);
      if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
        return new Response(reshapeStream(res.body, keep, cached), { status: res.status, headers: out });
      }
      const text = await res.text();
      const next = reshapeEvent(text, true, cached);
      return new Response(next ?? text, { status: res.status, headers: out });
    }
    return new Response(res.body, { status: res.status, headers: out });
  };
  return new Promise((resolve) => {
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
      handler,
    );
    const addr = server.addr as Deno.NetAddr;
    let closed: Promise<void> | undefined;
    const close = () => closed ??= (ac.abort(), server.finished);
    resolve({
      baseUrl: `http://127.0.0.1:${addr.port}`,
      hits,
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}
