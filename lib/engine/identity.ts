/**
 * Which server the lab is talking to, by what the server says of itself: servelab's embedded engine
 * reports a version with `+servelab-sim` (GET /version; vLLM's has no such part), so its numbers are
 * labelled SIMULATED however it was reached (`--engine sim`, or `--engine external` at its URL).
 * @module
 */
import { guardedFetch } from "../base/guarded_fetch.ts";

/** The part of the embedded engine's /version that names it (e.g. `0.11.0+servelab-sim.0.1.0`). */
export const EMBEDDED_ENGINE_MARK = "servelab-sim";

/**
 * True when a server version is the embedded engine's.
 *
 * @example
 * ```ts
 * isEmbeddedEngine("0.11.0+servelab-sim.0.1.0"); // true
 * isEmbeddedEngine("0.11.0"); // false
 * ```
 */
export function isEmbeddedEngine(version: string | undefined): boolean {
  return version?.includes(EMBEDDED_ENGINE_MARK) ?? false;
}

/**
 * The server's `GET /version` (vLLM and the embedded engine answer it), or undefined when it has none.
 *
 * @example
 * ```ts
 * await serverVersion("http://127.0.0.1:8000"); // "0.11.0+servelab-sim.0.1.0"
 * ```
 */
export async function serverVersion(
  baseUrl: string,
  opts: { headers?: Record<string, string>; allow_remote?: boolean; timeout_ms?: number } = {},
): Promise<string | undefined> {
  try {
    const res = await guardedFetch(`${baseUrl.replace(/\/+$/, "")}/version`, {
      headers: opts.headers,
      signal: AbortSignal.timeout(opts.timeout_ms ?? 5000),
    }, { allow_remote: opts.allow_remote });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const body = await res.json() as { version?: unknown };
    return typeof body.version === "string" ? body.version : undefined;
  } catch {
    return undefined; // /version is vLLM's; another server may lack it
  }
}
