/**
 * One scrape of a server's `/metrics`: fetched under an abort timeout (it never hangs), checked to be
 * Prometheus text, parsed, and seen through the version-tolerant view.
 * @module
 */
import { parsePrometheusText, type PromFamilies } from "./prom_text.ts";
import { type ServerMetrics, serverMetrics } from "./vllm_metrics.ts";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";

/** A monotonic millisecond clock (the run's `Clock` fits). */
export interface ScrapeClock {
  now(): number;
}

/** The default clock: `performance.now()`. */
export const PERFORMANCE_CLOCK: ScrapeClock = { now: () => performance.now() };

/** Options of {@link scrapeMetrics}. */
export interface ScrapeOptions {
  /** Give up after this long, body included (default 5000). */
  timeout_ms?: number;
  /** Clock for `t_ms` and `duration_ms` (default `performance.now()`). */
  clock?: ScrapeClock;
  /** Aborts the scrape early (the run stopping). */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: HeadersInit;
  /** Follow a redirect to a non-loopback host (default `SERVELAB_ALLOW_REMOTE=1`; see guarded_fetch.ts). */
  allow_remote?: boolean;
  /** Keep only this `model_name` label in the view (default: every model). */
  model_name?: string;
  /**
   * Parse only these metric families (names as listed in vllm_metrics.ts, `_total` optional): every other
   * line of the text is dropped before parsing, so a sampler that reads a few gauges and counters does not
   * parse vLLM's histograms (most of its 60 KB) twenty times a second on the client's event loop. The scrape's
   * `families` then hold only these.
   */
  only?: ReadonlySet<string>;
}

const SUFFIX = /_(total|created)$/;

/**
 * The lines of Prometheus text that belong to the families in `only` (their `# HELP` and `# TYPE` lines and
 * samples; a counter's `_total` and `_created` samples go with it).
 *
 * @example
 * ```ts
 * keepFamilies("# TYPE a gauge\na 1\nb 2\n", new Set(["a"])); // "# TYPE a gauge\na 1"
 * ```
 */
export function keepFamilies(text: string, only: ReadonlySet<string>): string {
  const want = new Set([...only].map((n) => n.replace(SUFFIX, "")));
  const out: string[] = [];
  for (const line of text.split("\n")) {
    let name: string;
    if (line.startsWith("#")) {
      const m = /^#\s+(?:HELP|TYPE)\s+(\S+)/.exec(line);
      if (!m) continue;
      name = m[1];
    } else {
      const end = line.search(/[{\s]/);
      name = end < 0 ? line : line.slice(0, end);
    }
    if (name && want.has(name.replace(SUFFIX, ""))) out.push(line);
  }
  return out.join("\n");
}

/** One scrape. */
export interface MetricsScrape {
  /** The URL that was fetched. */
  url: string;
  /** Clock time just before the request was sent. */
  t_ms: number;
  /** From sending the request to the end of the body. */
  duration_ms: number;
  /** Everything the server exported. */
  families: PromFamilies;
  /** The lab's view of it (see serverMetrics). */
  metrics: ServerMetrics;
}

const DEFAULT_TIMEOUT_MS = 5000;

/**
 * The metrics URL for a server: a URL whose path is empty or `/` gets `/metrics` appended; any other path is
 * used as given.
 *
 * @example
 * ```ts
 * import { metricsUrl } from "./scrape.ts";
 * metricsUrl("http://127.0.0.1:8000"); // "http://127.0.0.1:8000/metrics"
 * ```
 */
export function metricsUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === "" || parsed.pathname === "/") parsed.pathname = "/metrics";
  return parsed.toString();
}

/**
 * Fetches and parses a server's `/metrics`. Throws an error naming the URL when the server cannot be reached,
 * answers with an HTTP error, takes longer than `timeout_ms`, or serves something that is not Prometheus text.
 *
 * @example
 * ```ts
 * import { scrapeMetrics } from "./scrape.ts";
 * const scrape = await scrapeMetrics("http://127.0.0.1:8000", { timeout_ms: 2000 });
 * scrape.metrics.counters.prefix_cache_hits; // cumulative prefix-cache hits, tokens
 * ```
 */
export async function scrapeMetrics(url: string, opts: ScrapeOptions = {}): Promise<MetricsScrape> {
  const clock = opts.clock ?? PERFORMANCE_CLOCK;
  const timeout_ms = opts.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const target = metricsUrl(url);
  const timeout = AbortSignal.timeout(timeout_ms);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const t_ms = clock.now();
  const failed = (e: unknown) =>
    fetchError(target, e, timeout_ms, timeout.aborted, opts.signal?.aborted === true);
  let res: Response;
  try {
    res = await guardedFetch(target, { headers: opts.headers, signal }, { allow_remote: opts.allow_remote });
  } catch (e) {
    if (e instanceof RedirectRefusedError) throw e;
    throw failed(e);
  }
  const contentType = res.headers.get("content-type") ?? "";
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(
      `Cannot scrape metrics from ${target}: HTTP ${res.status} ${res.statusText}. ` +
        "Check the URL points at the server's /metrics endpoint and that the server exports metrics.",
    );
  }
  if (/html|json|xml/i.test(contentType)) {
    await res.body?.cancel();
    throw notPrometheus(target, `the response is ${contentType}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (e) {
    throw failed(e);
  }
  const duration_ms = clock.now() - t_ms;
  let families: PromFamilies;
  try {
    families = parsePrometheusText(opts.only ? keepFamilies(text, opts.only) : text);
  } catch (e) {
    throw notPrometheus(target, (e as Error).message, e);
  }
  const hasSamples = [...families.values()].some((f) =>
    f.kind === "histogram" || f.kind === "summary" ? f.series.length > 0 : f.samples.length > 0
  );
  if (!hasSamples) throw notPrometheus(target, "the body holds no metric samples");
  return { url: target, t_ms, duration_ms, families, metrics: serverMetrics(families, opts) };
}

function fetchError(url: string, e: unknown, timeout_ms: number, timedOut: boolean, aborted: boolean): Error {
  if (aborted) return new Error(`Cannot scrape metrics from ${url}: aborted by the caller.`, { cause: e });
  if (timedOut) {
    return new Error(
      `Cannot scrape metrics from ${url}: no complete response within ${timeout_ms} ms. ` +
        "Check that the server is up, or raise timeout_ms.",
      { cause: e },
    );
  }
  return new Error(
    `Cannot scrape metrics from ${url}: ${e instanceof Error ? e.message : String(e)}. ` +
      "Check that the server is running and listening on that host and port.",
    { cause: e },
  );
}

function notPrometheus(url: string, why: string, cause?: unknown): Error {
  return new Error(
    `Cannot scrape metrics from ${url}: it does not serve Prometheus text (${why}). ` +
      "Point the lab at the server's /metrics endpoint (vLLM: http://HOST:PORT/metrics).",
    { cause },
  );
}
