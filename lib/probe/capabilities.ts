/**
 * The capability probe: what an OpenAI-compatible server offers, asked once at the start of a run, so each
 * tier knows what it can measure and says "not measured (reason)" for the rest. It asks:
 *
 * - which endpoints answer: completions, chat, `/tokenize` (vLLM's and llama.cpp's), `/metrics`, `/health`,
 *   `/v1/models`, `/version`;
 * - whether completions take token-id prompts (vLLM, SGLang and llama.cpp do; others want text);
 * - whether usage streams: always, only with `stream_options.include_usage`, or never;
 * - whether usage reports cached prompt tokens (`usage.prompt_tokens_details.cached_tokens`; vLLM needs
 *   `--enable-prompt-tokens-details`);
 * - which metric family `/metrics` speaks (vLLM, SGLang, TGI, llama.cpp; lib/scrape/families.ts).
 *
 * Every request is small (`max_tokens` 1) and bounded by a timeout; a failure is a finding, never a throw.
 * @module
 */
import { z } from "zod";
import { checkLoadTarget } from "../base/target.ts";
import { METRIC_FAMILIES, metricFamily } from "../scrape/families.ts";
import { parsePrometheusText } from "../scrape/prom_text.ts";

/** The endpoints the probe asks about. */
export const CAPABILITY_ENDPOINTS = [
  "completions",
  "chat",
  "tokenize",
  "metrics",
  "health",
  "models",
  "version",
] as const;
export type CapabilityEndpoint = (typeof CAPABILITY_ENDPOINTS)[number];

/** How each endpoint is asked, for pages. */
export const ENDPOINT_PATHS: Readonly<Record<CapabilityEndpoint, string>> = {
  completions: "POST /v1/completions",
  chat: "POST /v1/chat/completions",
  tokenize: "POST /tokenize",
  metrics: "GET /metrics",
  health: "GET /health",
  models: "GET /v1/models",
  version: "GET /version",
};

/** One endpoint's answer: served or not, the HTTP status (absent: no answer), and why not in words. */
export const EndpointAnswer = z.object({
  ok: z.boolean(),
  status: z.number().int().optional(),
  why: z.string().optional(),
});
export type EndpointAnswer = z.infer<typeof EndpointAnswer>;

/** What a server offers; stored in the run's manifest under `capabilities`. */
export const Capabilities = z.object({
  schema: z.literal("servelab.capabilities/1"),
  /** Probed (true) or stated without a probe (false, with `why`). */
  probed: z.boolean(),
  /** Why nothing was probed (e.g. vLLM launched per tier). */
  why: z.string().optional(),
  probed_at: z.string().optional(),
  model: z.string().optional(),
  endpoints: z.record(z.enum(CAPABILITY_ENDPOINTS), EndpointAnswer),
  /** Completions accept a prompt of token ids. */
  token_id_prompts: z.boolean().optional(),
  /** "always": usage in every stream; "on_request": only with stream_options.include_usage; "never". */
  usage: z.enum(["always", "on_request", "never", "unknown"]),
  /** usage.prompt_tokens_details.cached_tokens present. */
  cached_tokens: z.enum(["reported", "not_reported", "unknown"]),
  /** The metric names /metrics speaks, when it answers with any the lab knows. */
  metric_family: z.enum(["vllm", "sglang", "tgi", "llamacpp"]).optional(),
  /** The server's version from /version, when it says. */
  server_version: z.string().optional(),
});
export type Capabilities = z.infer<typeof Capabilities>;

/** Options of {@link probeCapabilities}. */
export interface CapabilityProbeOptions {
  /** Request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Per request. Default 20 000 ms. */
  timeout_ms?: number;
  /** Allow a non-loopback host (target.ts). */
  allow_remote?: boolean;
}

interface Answer {
  status?: number;
  text?: string;
  why?: string;
}

async function ask(
  url: string,
  init: RequestInit & { body?: string },
  timeout_ms: number,
): Promise<Answer> {
  try {
    const res = await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeout_ms) });
    const text = await res.text();
    return { status: res.status, text };
  } catch (e) {
    return { why: `no answer: ${(e as Error).message}` };
  }
}

function answer(a: Answer, good: (text: string) => string | undefined): EndpointAnswer {
  if (a.status === undefined) return { ok: false, why: a.why ?? "no answer" };
  if (a.status < 200 || a.status >= 300) {
    return { ok: false, status: a.status, why: `HTTP ${a.status}${snippet(a.text)}` };
  }
  const bad = good(a.text ?? "");
  return bad ? { ok: false, status: a.status, why: bad } : { ok: true, status: a.status };
}

function snippet(text: string | undefined): string {
  const t = (text ?? "").replace(/\s+/g, " ").trim().slice(0, 80);
  return t ? `: ${t}` : "";
}

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The usage objects of an SSE body (or of one JSON body). */
function usages(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const bodies = text.includes("data:")
    ? text.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim())
    : [text];
  for (const b of bodies) {
    if (b === "[DONE]") continue;
    const u = (json(b) as { usage?: unknown } | undefined)?.usage;
    if (u && typeof u === "object") out.push(u as Record<string, unknown>);
  }
  return out;
}

function hasCached(u: Record<string, unknown>): boolean {
  const d = u.prompt_tokens_details;
  return !!d && typeof d === "object" && typeof (d as Record<string, unknown>).cached_tokens === "number";
}

/**
 * Probes a server. Never throws for what the server does; throws only for a non-loopback URL that is not
 * allowed, before any request.
 *
 * @example
 * ```ts
 * const caps = await probeCapabilities("http://127.0.0.1:8000", "Qwen/Qwen2.5-1.5B-Instruct");
 * caps.endpoints.tokenize.ok; // false on SGLang, TGI
 * ```
 */
export async function probeCapabilities(
  baseUrl: string,
  model: string,
  opts: CapabilityProbeOptions = {},
): Promise<Capabilities> {
  checkLoadTarget(baseUrl, opts.allow_remote);
  const base = baseUrl.replace(/\/+$/, "");
  const t = opts.timeout_ms ?? 20_000;
  const post = (path: string, body: unknown) =>
    ask(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...opts.headers },
      body: JSON.stringify(body),
    }, t);
  const get = (path: string) => ask(`${base}${path}`, { method: "GET", headers: opts.headers }, t);

  const [health, models, version, metrics, tokenize] = await Promise.all([
    get("/health"),
    get("/v1/models"),
    get("/version"),
    get("/metrics"),
    post("/tokenize", { model, prompt: "Hello world", content: "Hello world", add_special_tokens: false }),
  ]);
  let family: Capabilities["metric_family"];
  const endpoints = {} as Record<CapabilityEndpoint, EndpointAnswer>;
  endpoints.health = answer(health, () => undefined);
  endpoints.models = answer(models, (text) => {
    const d = (json(text) as { data?: unknown } | undefined)?.data;
    return Array.isArray(d) ? undefined : `not a model list${snippet(text)}`;
  });
  endpoints.version = answer(version, () => undefined);
  endpoints.metrics = answer(metrics, (text) => {
    try {
      family = metricFamily(parsePrometheusText(text));
    } catch (e) {
      return `not Prometheus text: ${(e as Error).message.slice(0, 80)}`;
    }
    return undefined;
  });
  let ids: number[] | undefined;
  endpoints.tokenize = answer(tokenize, (text) => {
    const toks = (json(text) as { tokens?: unknown } | undefined)?.tokens;
    if (Array.isArray(toks) && toks.length > 0 && toks.every((x) => Number.isInteger(x))) {
      ids = toks as number[];
      return undefined;
    }
    return `no token ids in the answer${snippet(text)}`;
  });

  const gen = { model, max_tokens: 1, temperature: 0 };
  // Usage without asking, then with include_usage; the second stream also says whether cached tokens come.
  const plain = await post("/v1/completions", { ...gen, prompt: "Hello", stream: true });
  endpoints.completions = answer(plain, (text) => text.includes("data:") ? undefined : "not an event stream");
  const asked = endpoints.completions.ok
    ? await post("/v1/completions", {
      ...gen,
      prompt: "Hello",
      stream: true,
      stream_options: { include_usage: true },
    })
    : undefined;
  const chat = await post("/v1/chat/completions", {
    ...gen,
    messages: [{ role: "user", content: "Hello" }],
    stream: true,
  });
  endpoints.chat = answer(chat, (text) => text.includes("data:") ? undefined : "not an event stream");
  let token_id_prompts: boolean | undefined;
  if (endpoints.completions.ok) {
    const r = await post("/v1/completions", { ...gen, prompt: ids ?? [9707, 1879], stream: false });
    token_id_prompts = r.status !== undefined && r.status >= 200 && r.status < 300;
  }

  const plainUsage = endpoints.completions.ok ? usages(plain.text ?? "") : [];
  const askedUsage = asked?.status && asked.status < 300 ? usages(asked.text ?? "") : [];
  const usage: Capabilities["usage"] = !endpoints.completions.ok
    ? "unknown"
    : plainUsage.length
    ? "always"
    : askedUsage.length
    ? "on_request"
    : "never";
  const all = [...plainUsage, ...askedUsage];
  const cached_tokens: Capabilities["cached_tokens"] = all.length === 0
    ? "unknown"
    : all.some(hasCached)
    ? "reported"
    : "not_reported";
  const v = endpoints.version.ok
    ? (json(version.text ?? "") as { version?: unknown } | undefined)?.version
    : undefined;
  return Capabilities.parse({
    schema: "servelab.capabilities/1",
    probed: true,
    probed_at: new Date().toISOString(),
    model,
    endpoints,
    token_id_prompts,
    usage,
    cached_tokens,
    metric_family: family,
    server_version: typeof v === "string" && v ? v : undefined,
  });
}

/**
 * Capabilities stated without a probe (e.g. vLLM, which each tier launches itself: a probe launch would warm
 * its compile cache before tier 01's cold start).
 *
 * @example
 * ```ts
 * unprobedCapabilities("vLLM is launched by each tier");
 * ```
 */
export function unprobedCapabilities(why: string): Capabilities {
  const endpoints = Object.fromEntries(
    CAPABILITY_ENDPOINTS.map((e) => [e, { ok: false, why: "not probed" }]),
  ) as Record<CapabilityEndpoint, EndpointAnswer>;
  return {
    schema: "servelab.capabilities/1",
    probed: false,
    why,
    endpoints,
    usage: "unknown",
    cached_tokens: "unknown",
  };
}

const USAGE_TEXT: Record<Capabilities["usage"], string> = {
  always: "in every stream",
  on_request: "only with stream_options.include_usage (the lab asks for it)",
  never: "never, even when asked: token counts are not measured",
  unknown: "unknown (completions did not answer)",
};

/**
 * The capabilities as label/value rows for a page; never an empty value.
 *
 * @example
 * ```ts
 * capabilityRows(caps)[0]; // ["POST /v1/completions", "served"]
 * ```
 */
export function capabilityRows(c: Capabilities): [string, string][] {
  if (!c.probed) return [["capabilities", `not probed: ${c.why ?? "no reason given"}`]];
  const rows: [string, string][] = CAPABILITY_ENDPOINTS.map((e) => {
    const a = c.endpoints[e];
    return [ENDPOINT_PATHS[e], a?.ok ? "served" : `not served (${a?.why ?? "not asked"})`];
  });
  rows.push([
    "token-id prompts",
    c.token_id_prompts === undefined ? "unknown" : c.token_id_prompts ? "accepted" : "refused",
  ]);
  rows.push(["usage in streams", USAGE_TEXT[c.usage]]);
  rows.push([
    "cached prompt tokens",
    c.cached_tokens === "reported"
      ? "reported (usage.prompt_tokens_details.cached_tokens)"
      : c.cached_tokens === "not_reported"
      ? "not reported (vLLM needs --enable-prompt-tokens-details)"
      : "unknown",
  ]);
  rows.push([
    "metric names",
    c.metric_family
      ? `${METRIC_FAMILIES[c.metric_family].label}, mapped to the lab's`
      : c.endpoints.metrics?.ok
      ? "none the lab knows (vLLM, SGLang, TGI, llama.cpp): server metrics not measured"
      : "no /metrics: server metrics not measured",
  ]);
  return rows;
}

/**
 * Why a measure that needs `need` cannot be taken on this server, or undefined when it can (or nothing was
 * probed). For "not measured (reason)" texts.
 *
 * @example
 * ```ts
 * missingCapability(caps, "metrics"); // "the server has no /metrics (HTTP 404)"
 * ```
 */
export function missingCapability(
  c: Capabilities | undefined,
  need: "metrics" | "tokenize" | "usage" | "cached_tokens" | "chat" | "token_id_prompts",
): string | undefined {
  if (!c?.probed) return undefined;
  switch (need) {
    case "metrics":
      if (!c.endpoints.metrics.ok) {
        return `the server has no /metrics (${c.endpoints.metrics.why ?? "no answer"})`;
      }
      return c.metric_family ? undefined : "the server's /metrics has no names the lab knows";
    case "tokenize":
      return c.endpoints.tokenize.ok
        ? undefined
        : `the server has no /tokenize (${c.endpoints.tokenize.why ?? "no answer"})`;
    case "chat":
      return c.endpoints.chat.ok
        ? undefined
        : `the server has no chat endpoint (${c.endpoints.chat.why ?? "no answer"})`;
    case "usage":
      return c.usage === "never" ? "the server reports no usage in streams" : undefined;
    case "cached_tokens":
      return c.cached_tokens === "not_reported" ? "the server reports no cached_tokens in usage" : undefined;
    case "token_id_prompts":
      return c.token_id_prompts === false ? "the server refuses token-id prompts" : undefined;
  }
}

/**
 * One line for the terminal: what is missing, or that everything the lab uses is served.
 *
 * @example
 * ```ts
 * capabilitySummary(caps); // "no /tokenize, no /metrics; usage only on request; no cached_tokens"
 * ```
 */
export function capabilitySummary(c: Capabilities): string {
  if (!c.probed) return `not probed (${c.why ?? "no reason given"})`;
  const parts: string[] = [];
  const missing = CAPABILITY_ENDPOINTS.filter((e) => !c.endpoints[e].ok).map((e) =>
    ENDPOINT_PATHS[e].split(" ")[1]
  );
  parts.push(missing.length ? `no ${missing.join(", no ")}` : "every endpoint served");
  if (c.token_id_prompts === false) parts.push("text prompts only");
  parts.push(c.usage === "on_request" ? "usage on request" : `usage ${c.usage}`);
  if (c.cached_tokens === "not_reported") parts.push("no cached_tokens");
  if (c.metric_family) parts.push(`${METRIC_FAMILIES[c.metric_family].label} metric names`);
  return parts.join("; ");
}
