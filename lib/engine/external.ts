/**
 * The `external` engine: a URL the lab did not start. No process, no startup log (startup phases are not
 * measured, never invented); the lab checks that the URL is loopback (unless allowed) and that it speaks
 * the OpenAI API with the configured model, then measures it like any other engine.
 * @module
 */
import { z } from "zod";
import { type ServeConfig, servedName } from "./config.ts";
import type { Engine } from "./types.ts";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";
import { ALLOW_REMOTE_ENV, allowRemoteFromEnv, isLoopbackHost, redactUrl } from "../base/target.ts";

/** Options of {@link attachExternal}. */
export interface ExternalOptions {
  /** Allow a non-loopback host. Default `SERVELAB_ALLOW_REMOTE=1`, else false: local servers only. */
  allow_remote?: boolean;
  /** Timeout of the `GET /v1/models` check, default 10_000 ms. */
  timeout_ms?: number;
  signal?: AbortSignal;
}

const ModelList = z.object({ data: z.array(z.object({ id: z.string() }).passthrough()) }).passthrough();

export { isLoopbackHost };

/**
 * Attaches to an OpenAI-compatible server at `cfg.url` (a trailing `/v1` is accepted and dropped).
 * Throws when the host is not loopback (unless `allow_remote`), when `GET /v1/models` does not return
 * `{data: [{id}, ...]}`, or when the model is not among the served ids.
 *
 * @example
 * ```ts
 * await using engine = await attachExternal(parseServeConfig({
 *   engine: "external", url: "http://127.0.0.1:8000", model: "Qwen/Qwen2.5-1.5B-Instruct",
 * }));
 * ```
 */
export async function attachExternal(cfg: ServeConfig, opts: ExternalOptions = {}): Promise<Engine> {
  if (!cfg.url) {
    throw new Error("ServeConfig.url is required for engine 'external' (e.g. http://127.0.0.1:8000)");
  }
  const shown = redactUrl(cfg.url);
  let url: URL;
  try {
    url = new URL(cfg.url);
  } catch {
    throw new Error(`ServeConfig.url '${shown}' is not a URL: give one like http://127.0.0.1:8000`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`ServeConfig.url '${shown}' must use http or https, not ${url.protocol}`);
  }
  if (!isLoopbackHost(url.hostname) && !(opts.allow_remote ?? allowRemoteFromEnv())) {
    throw new Error(
      `Refusing external engine at ${shown}: host '${url.hostname}' is not loopback. ` +
        `Pass { allow_remote: true } to launch() (or set ${ALLOW_REMOTE_ENV}=1, or ./servelab run ` +
        "--allow-remote) to measure a remote server.",
    );
  }
  const baseUrl = url.origin + url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  const key = apiKey(cfg);
  const headers: Record<string, string> = key === undefined ? {} : { Authorization: `Bearer ${key}` };
  const redact = (s: string) => key ? s.replaceAll(key, "[REDACTED]") : s;
  const modelsUrl = `${baseUrl}/v1/models`;
  const expected = 'Expected 200 with JSON {"data": [{"id": ...}]} from an OpenAI-compatible server.';
  const fix = " Check that the URL is the engine's base URL (as `vllm serve` prints it, e.g. " +
    "http://127.0.0.1:8000), not another web service.";

  let res: Response;
  try {
    const timeout = AbortSignal.timeout(opts.timeout_ms ?? 10_000);
    res = await guardedFetch(modelsUrl, {
      headers,
      signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
    }, { allow_remote: opts.allow_remote });
  } catch (err) {
    if (err instanceof RedirectRefusedError) {
      throw new Error(redact(`External engine at ${shown}: ${err.message}`));
    }
    throw new Error(
      redact(
        `Cannot reach external engine at ${shown}: GET ${modelsUrl} failed (${errText(err)}). ` +
          "Start the server or fix ServeConfig.url.",
      ),
    );
  }
  const body = await res.text();
  const first = JSON.stringify(body.slice(0, 200));
  if (!res.ok) {
    const hint = res.status === 401 ? " The server wants an API key: set ServeConfig.api_key_env." : "";
    throw new Error(
      redact(
        `External engine at ${shown} is not usable: GET ${modelsUrl} returned ${res.status} ` +
          `${res.statusText}, body ${first}. ${expected}${hint || fix}`,
      ),
    );
  }
  let ids: string[];
  try {
    ids = ModelList.parse(JSON.parse(body)).data.map((m) => m.id);
  } catch {
    throw new Error(
      redact(
        `External engine at ${shown} is not OpenAI-compatible: GET ${modelsUrl} returned ` +
          `${res.status} with body ${first}. ${expected}${fix}`,
      ),
    );
  }
  const model = servedName(cfg);
  if (!ids.includes(model)) {
    throw new Error(
      `External engine at ${shown} does not serve model '${model}'. It serves: ` +
        `${ids.length ? ids.map((i) => `'${i}'`).join(", ") : "(none)"}. Set ServeConfig.model ` +
        "(or served_model_name) to one of them.",
    );
  }
  return {
    kind: "external",
    config: cfg,
    baseUrl,
    model,
    startup: undefined,
    ready_s: undefined,
    headers: () => ({ ...headers }),
    stop: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

/**
 * The API key from the environment variable named by `cfg.api_key_env`; undefined when no variable is
 * configured. Throws (naming the variable, never a value) when it is configured but unset or empty.
 */
export function apiKey(cfg: ServeConfig): string | undefined {
  if (!cfg.api_key_env) return undefined;
  const key = Deno.env.get(cfg.api_key_env);
  if (!key) {
    throw new Error(
      `ServeConfig.api_key_env names ${cfg.api_key_env}, but that environment variable is not set. ` +
        `Export ${cfg.api_key_env}=<key> or remove api_key_env.`,
    );
  }
  return key;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
