/**
 * The health check: a short canary load against a live OpenAI-compatible server, /metrics scraped
 * before, during and after it, each check of a thresholds file judged against what was measured.
 *
 * Outcomes map to exit codes: every check ok or n/a -> 0; any breach -> 1; the check could not run
 * (host refused, server unreachable, not OpenAI-compatible, model or API key missing) -> 2.
 * docs/adr/0009-health-check.md has the design.
 * @module
 */
import { seededText } from "../probe/prompts.ts";
import { promptOfTokens } from "../probe/prompts.ts";
import { runLoad } from "../probe/load.ts";
import { allowRemoteFromEnv, checkLoadTarget, isLoopbackHost } from "../base/target.ts";
import type { ProbeRequest, RequestRecord } from "../probe/types.ts";
import { type GpuQueryOptions, gpuSnapshot } from "../scrape/gpu.ts";
import { type GpuSample, GpuSampler } from "../scrape/gpu_sampler.ts";
import { MetricsSampler } from "../scrape/sampler.ts";
import { scrapeMetrics } from "../scrape/scrape.ts";
import type { ServerMetrics } from "../scrape/vllm_metrics.ts";
import { type CanaryGpu, type CanaryMetrics, measureCanary, type Measured } from "./measure.ts";
import { type CheckId, SEED_CHECKS, type Thresholds } from "./thresholds.ts";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";

/** A check's verdict. n/a (not measurable here) counts as passing but is shown with its reason. */
export type CheckStatus = "ok" | "breach" | "n/a";

/** One judged check. */
export interface CheckResult {
  id: CheckId;
  op: "<=" | ">=";
  threshold: number;
  unit: string;
  /** Undefined when the check is n/a. */
  measured?: number;
  status: CheckStatus;
  /** Why the check is n/a, or a breach without a value (every request failed). */
  reason?: string;
  /** Where the measured value came from. */
  source?: string;
  /** The thresholds file's reason for the value. */
  why: string;
}

/** Why the check could not run (exit 2). */
export type HealthFailure =
  | "refused"
  | "redirect"
  | "unreachable"
  | "not_openai"
  | "no_model"
  | "api_key"
  | "thresholds";

/** What {@link runHealth} returns; `exit_code` is the CLI's. */
export type HealthResult =
  | {
    kind: "judged";
    status: "ok" | "breach";
    exit_code: 0 | 1;
    url: string;
    model: string;
    /** From GET /version, when the server has it. */
    server_version?: string;
    /** True when the server is servelab's embedded engine: every number is simulated. */
    simulated: boolean;
    canary: Thresholds["canary"] & {
      sent: number;
      succeeded: number;
      wall_ms: number;
      /** token_ids: exact lengths via /tokenize; text: seeded text of about that many tokens. */
      prompt: "token_ids" | "text";
      deadline_hit: boolean;
    };
    checks: CheckResult[];
    measured: Measured;
    /** Things worth knowing that are not a check (client self-check, failed scrapes). */
    notes: string[];
  }
  | { kind: "failed"; status: "error"; exit_code: 2; url: string; failure: HealthFailure; error: string };

/**
 * Judges each check of `thresholds` against `measured`: `op` holds -> ok, else breach; no measurement
 * -> n/a with its reason, except one the server failed (`measured.failed`) -> breach. Pure.
 *
 * @example
 * ```ts
 * const [c] = judge({ values: { error_rate: 0.5 }, na: {}, sources: {} }, {
 *   ...defaultThresholds(), checks: [{ id: "error_rate", op: "<=", value: 0, unit: "fraction", why: "" }] });
 * c.status; // "breach"
 * ```
 */
export function judge(measured: Measured, thresholds: Thresholds): CheckResult[] {
  // The seed's five first, in its order; the rest as the file lists them.
  const rank = (id: string) => {
    const i = SEED_CHECKS.indexOf(id as CheckId);
    return i < 0 ? SEED_CHECKS.length : i;
  };
  const ordered = thresholds.checks.map((c, i) => ({ c, i })).sort((a, b) =>
    rank(a.c.id) - rank(b.c.id) || a.i - b.i
  ).map((x) => x.c);
  return ordered.map((c) => {
    const base = { id: c.id, op: c.op, threshold: c.value, unit: c.unit, why: c.why };
    const v = measured.values[c.id];
    const failed = measured.failed?.[c.id];
    if (v === undefined && failed !== undefined) return { ...base, status: "breach", reason: failed };
    if (v === undefined) {
      return { ...base, status: "n/a", reason: measured.na[c.id] ?? "not measured by this canary" };
    }
    const pass = c.op === "<=" ? v <= c.value : v >= c.value;
    return { ...base, measured: v, status: pass ? "ok" : "breach", source: measured.sources[c.id] };
  });
}

/** Options of {@link runHealth}. */
export interface HealthOptions {
  /** The model to send; default the first of GET /v1/models. */
  model?: string;
  /** Name of the environment variable holding the API key (sent as a Bearer token). */
  api_key_env?: string;
  /** Reads environment variables (default Deno.env.get). */
  env?: (name: string) => string | undefined;
  /** Allow a non-loopback URL (default SERVELAB_ALLOW_REMOTE=1). */
  allow_remote?: boolean;
  /** How nvidia-smi is run (tests pass a recorded runner). */
  gpu?: GpuQueryOptions;
  /** /metrics sampling interval during the canary (default 250). */
  sample_interval_ms?: number;
  /** Seed of the canary prompts (default 0). */
  seed?: number;
}

const STRIDE_TOKENS = 7;
const AFTER_SCRAPE_RESERVE_MS = 1500;

const fail = (url: string, failure: HealthFailure, error: string): HealthResult => ({
  kind: "failed",
  status: "error",
  exit_code: 2,
  url,
  failure,
  error,
});

/** The server's base URL: no trailing slash, no trailing /v1 (an OpenAI client's base URL works too). */
function baseOf(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/** An error's message with its cause's (fetch's "fetch failed" hides "Connection refused" in the cause). */
function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
  return cause && !msg.includes(cause) ? `${msg} (${cause})` : msg;
}

type Discovery = { model: string; version?: string } | { failure: HealthFailure; error: string };

async function discover(
  url: string,
  headers: Record<string, string>,
  model: string | undefined,
  timeout_ms: number,
  allow_remote: boolean,
  left: () => number,
): Promise<Discovery> {
  const target = `${url}/v1/models`;
  let res: Response;
  try {
    res = await guardedFetch(target, { headers, signal: AbortSignal.timeout(timeout_ms) }, { allow_remote });
  } catch (e) {
    if (e instanceof RedirectRefusedError) return { failure: "redirect", error: e.message };
    return {
      failure: "unreachable",
      error: `Cannot reach ${target}: ${errorText(e)}. ` +
        "Check that the server is running and listening on that host and port.",
    };
  }
  const text = await res.text().catch(() => "");
  if (res.status === 401 || res.status === 403) {
    return {
      failure: "api_key",
      error: `${target} answered HTTP ${res.status}: the server wants an API key. ` +
        "Put it in an environment variable and pass --api-key-env NAME.",
    };
  }
  const notOpenAi = (why: string) => ({
    failure: "not_openai" as const,
    error: `${url} is not an OpenAI-compatible server: GET /v1/models ${why}. ` +
      "Point --url at the server's base URL (vLLM: http://HOST:PORT), not at another service or path.",
  });
  if (!res.ok) return notOpenAi(`answered HTTP ${res.status}`);
  let ids: string[];
  try {
    const body = JSON.parse(text) as { data?: { id?: unknown }[] };
    ids = (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string");
  } catch {
    return notOpenAi(`answered ${res.headers.get("content-type") ?? "something"} that is not JSON`);
  }
  if (ids.length === 0) return notOpenAi("lists no model ({data: [{id}]})");
  if (model !== undefined && !ids.includes(model)) {
    return {
      failure: "no_model",
      error: `Model '${model}' is not served by ${url} (it serves ${ids.join(", ")}). ` +
        "Pass one of those with --model, or leave --model out to use the first.",
    };
  }
  let version: string | undefined;
  try {
    const v = await guardedFetch(`${url}/version`, {
      headers,
      signal: AbortSignal.timeout(Math.min(2000, left())),
    }, {
      allow_remote,
    });
    const body = v.ok ? await v.json() as { version?: unknown } : (await v.body?.cancel(), {});
    if (typeof body.version === "string") version = body.version;
  } catch {
    // /version is vLLM's; other servers may lack it.
  }
  return { model: model ?? ids[0], version };
}

/** One prompt per request: windows of one tokenized text (exact lengths, distinct first tokens), or text. */
async function canaryPrompts(
  url: string,
  model: string,
  c: Thresholds["canary"],
  headers: Record<string, string>,
  seed: number,
  timeout_ms: number,
): Promise<{ kind: "token_ids" | "text"; at: (i: number) => string | number[]; note?: string }> {
  try {
    // timeout_ms bounds the whole search (it may tokenize several times), not each request.
    const ids = await promptOfTokens(url, model, c.prompt_tokens + (c.requests - 1) * STRIDE_TOKENS, {
      seed,
      headers,
      timeout_ms,
      signal: AbortSignal.timeout(timeout_ms),
    });
    return {
      kind: "token_ids",
      at: (i) => ids.slice(i * STRIDE_TOKENS, i * STRIDE_TOKENS + c.prompt_tokens),
    };
  } catch (e) {
    const words = Math.max(1, Math.round(c.prompt_tokens * 0.75));
    return {
      kind: "text",
      at: (i) => seededText(seed + i, words),
      note: `Prompts are seeded text of about ${c.prompt_tokens} tokens, not exact lengths: ` +
        `${(e as Error).message.split(". ")[0]}.`,
    };
  }
}

async function scrapeOrReason(
  url: string,
  headers: Record<string, string>,
  model: string,
  timeout_ms: number,
  allow_remote: boolean,
): Promise<ServerMetrics | string> {
  try {
    return (await scrapeMetrics(url, { headers, model_name: model, timeout_ms, allow_remote })).metrics;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Runs the canary against `url` and judges it. Never throws for a server problem: an unreachable or
 * non-OpenAI server is a `failed` result (exit 2). The whole check ends within `canary.timeout_s`
 * (requests still running then are aborted and count as failed).
 *
 * @example
 * ```ts
 * const r = await runHealth("http://127.0.0.1:8000", defaultThresholds());
 * console.log(r.exit_code, r.kind === "judged" ? r.checks : r.error);
 * ```
 */
export async function runHealth(
  url: string,
  thresholds: Thresholds,
  opts: HealthOptions = {},
): Promise<HealthResult> {
  const t0 = performance.now();
  const c = thresholds.canary;
  // The whole check ends within timeout_s: each step gets a share of what is left (none gets a floor
  // that could add up past the deadline), the load gets the rest but a reserve for the last scrape.
  const deadline = t0 + c.timeout_s * 1000;
  /** Milliseconds left of the canary's budget, at least 1 (a timeout of 0 would throw). */
  const left = () => Math.max(deadline - performance.now(), 1);
  const base = baseOf(url);
  try {
    checkLoadTarget(base, opts.allow_remote ?? allowRemoteFromEnv());
  } catch (e) {
    const msg = (e as Error).message.replace(
      /pass allow_remote: true, set (\S+)=1, or run \.\/servelab run --allow-remote\./,
      "pass --allow-remote (or set $1=1).",
    );
    return fail(url, "refused", msg);
  }
  const headers: Record<string, string> = {};
  if (opts.api_key_env !== undefined) {
    const key = (opts.env ?? ((n) => Deno.env.get(n)))(opts.api_key_env);
    if (!key) {
      return fail(
        url,
        "api_key",
        `Environment variable ${opts.api_key_env} (--api-key-env) is not set or empty. ` +
          `Export the API key in it, or leave --api-key-env out for a server without a key.`,
      );
    }
    headers.authorization = `Bearer ${key}`;
  }

  const allow_remote = opts.allow_remote ?? allowRemoteFromEnv();
  const found = await discover(base, headers, opts.model, Math.min(5000, left() * 0.4), allow_remote, left);
  if ("failure" in found) return fail(url, found.failure, found.error);
  const { model, version } = found;
  const simulated = version?.includes("servelab-sim") ?? false;
  const notes: string[] = [];

  const prompts = await canaryPrompts(base, model, c, headers, opts.seed ?? 0, Math.min(5000, left() * 0.3));
  if (prompts.note) notes.push(prompts.note);
  const request = (i: number): ProbeRequest => ({
    endpoint: "completions",
    model,
    prompt: prompts.at(i),
    max_tokens: c.max_tokens,
    ignore_eos: true,
    temperature: 0,
  });

  const before = await scrapeOrReason(
    base,
    headers,
    model,
    Math.min(3000, left() * 0.15),
    allow_remote,
  );
  const sampler = typeof before === "string"
    ? undefined
    : MetricsSampler.start(base, { interval_ms: opts.sample_interval_ms ?? 250, headers, model_name: model });
  const gpu = await startGpu(base, simulated, opts.gpu, Math.min(3000, left() * 0.1));

  const stop = new AbortController();
  const budget_ms = Math.max(left() - Math.min(AFTER_SCRAPE_RESERVE_MS, left() * 0.15), 1);
  const timer = setTimeout(() => stop.abort(), budget_ms);
  let records: RequestRecord[] = [];
  let wall_ms = 0;
  try {
    const load = await runLoad(base, request, { kind: "concurrency", n: c.concurrency }, {
      count: c.requests,
      timeout_ms: budget_ms,
      headers,
      signal: stop.signal,
      allow_remote: true,
      max_lag_p99_ms: 50,
    });
    records = load.records;
    const sent = records.map((r) => r.t_send_ms);
    wall_ms = sent.length ? Math.max(...records.map((r) => r.t_end_ms)) - Math.min(...sent) : 0;
    if (!load.self_check.client_ok) notes.push(`Client self-check: ${load.self_check.reason}`);
  } finally {
    clearTimeout(timer);
  }
  const deadline_hit = stop.signal.aborted;
  if (deadline_hit) {
    notes.push(
      `The canary hit its ${c.timeout_s} s deadline: unfinished and unsent requests count as failed.`,
    );
  }

  const samples = (await sampler?.stop()) ?? [];
  const after = typeof before === "string"
    ? undefined
    : left() < 50
    ? "no time was left before timeout_s for the scrape after the canary"
    : await scrapeOrReason(base, headers, model, Math.min(1000, left() - 20), allow_remote);
  if (typeof after === "string") notes.push(`The scrape after the canary failed: ${after}`);
  const metrics: CanaryMetrics = typeof before === "string"
    ? { kind: "unavailable", reason: `no /metrics: ${before.split(". ")[0]}` }
    : { kind: "scraped", before, after: typeof after === "string" ? undefined : after, samples };

  const measured = measureCanary({ records, requests: c.requests, wall_ms, metrics, gpu: await gpu.stop() });
  const checks = judge(measured, thresholds);
  const breach = checks.some((x) => x.status === "breach");
  return {
    kind: "judged",
    status: breach ? "breach" : "ok",
    exit_code: breach ? 1 : 0,
    url,
    model,
    server_version: version,
    simulated,
    canary: {
      ...c,
      sent: records.length,
      succeeded: records.filter((r) => r.ok).length,
      wall_ms,
      prompt: prompts.kind,
      deadline_hit,
    },
    checks,
    measured,
    notes,
  };
}

/** The embedded engine's simulated device: GET /servelab/gpu polled during the canary; utilization is the
 * busy share between two readings. Every value is SIMULATED, and its source says so. */
async function startSimGpu(url: string): Promise<{ stop: () => Promise<CanaryGpu> }> {
  const source = "SIMULATED: the embedded engine's model of its GPU (/servelab/gpu)";
  type Reading = { memory_total_mib: number; memory_used_mib: number; busy_ms_total: number; now_ms: number };
  const read = async (): Promise<Reading | undefined> => {
    try {
      const r = await guardedFetch(new URL("/servelab/gpu", url), { signal: AbortSignal.timeout(2000) });
      if (!r.ok) {
        await r.body?.cancel();
        return undefined;
      }
      return await r.json() as Reading;
    } catch {
      return undefined;
    }
  };
  const first = await read();
  if (!first) {
    return {
      stop: () =>
        Promise.resolve({
          kind: "unavailable",
          reason: "the embedded engine did not answer /servelab/gpu (an older version?)",
        } as CanaryGpu),
    };
  }
  const samples: GpuSample[] = [];
  let last = first;
  const take = async () => {
    const now = await read();
    if (!now) return;
    const dt = now.now_ms - last.now_ms;
    samples.push({
      t_ms: performance.now(),
      index: 0,
      memory_total_mib: now.memory_total_mib,
      memory_used_mib: now.memory_used_mib,
      utilization_gpu_pct: dt > 0
        ? Math.min(100, 100 * (now.busy_ms_total - last.busy_ms_total) / dt)
        : undefined,
    });
    last = now;
  };
  let busy = Promise.resolve();
  const timer = setInterval(() => busy = busy.then(take), 250);
  return {
    stop: async () => {
      clearInterval(timer);
      await busy;
      await take();
      return { kind: "sampled", samples, source };
    },
  };
}

/** GPU memory during the canary, only where this host's GPUs are the server's. */
async function startGpu(
  url: string,
  simulated: boolean,
  opts: GpuQueryOptions | undefined,
  timeout_ms: number,
): Promise<{ stop: () => Promise<CanaryGpu> }> {
  const na = (reason: string) => ({
    stop: () => Promise.resolve({ kind: "unavailable", reason } as CanaryGpu),
  });
  if (simulated) return await startSimGpu(url);
  if (!isLoopbackHost(new URL(url).hostname)) {
    return na("the server is remote: this host's GPUs are not the server's");
  }
  let first;
  try {
    first = await gpuSnapshot({ ...opts, processes: false, timeout_ms });
  } catch (e) {
    return na(`nvidia-smi failed: ${(e as Error).message}`);
  }
  if (!first) return na("no GPU visible on this host (nvidia-smi missing or no device)");
  const initial: GpuSample[] = first.gpus.map((g) => ({
    t_ms: performance.now(),
    index: g.index,
    memory_total_mib: g.memory_total_mib,
    memory_used_mib: g.memory_used_mib,
  }));
  const sampler = GpuSampler.start({ ...opts, interval_ms: 1000 });
  return {
    stop: async () => ({
      kind: "sampled",
      samples: [...initial, ...(await sampler.stop()).filter((s) => s.error === undefined)],
    }),
  };
}
