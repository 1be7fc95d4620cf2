/**
 * `fetch` that follows a redirect only where the loopback guard ({@link checkLoadTarget}) would let the
 * lab connect in the first place. `fetch` follows redirects by itself, so a loopback server answering
 * `307 Location: http://10.0.0.5:8000/...` would otherwise send the lab's probe, scrape or health check to
 * a host the user never named. Every connection the lab makes to a server under test (the external
 * engine's /v1/models, readiness, tokenize, scrape, health, tier helpers) goes through here; the streamed probe never follows a redirect
 * at all (a 3xx is a failed request with the Location named).
 *
 * Redirects are followed by hand (at most `max_redirects`, default 5), each hop checked before it is
 * made; `Authorization` is dropped when a hop changes origin, as browsers do. A refused hop throws
 * {@link RedirectRefusedError}, a harness error naming both URLs (userinfo stripped) and the fix.
 * @module
 */
import { allowRemoteFromEnv, checkLoadTarget, redactUrl } from "./target.ts";

/** A redirect to a host the loopback guard refuses (or one redirect too many). */
export class RedirectRefusedError extends Error {
  override name = "RedirectRefusedError";
  constructor(message: string, readonly from: string, readonly to: string) {
    super(message);
  }
}

/** Options of {@link guardedFetch}. */
export interface GuardedFetchOptions {
  /** Follow redirects to non-loopback hosts too. Default: `SERVELAB_ALLOW_REMOTE=1`. */
  allow_remote?: boolean;
  /** Hops followed before giving up. Default 5. */
  max_redirects?: number;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * True for a status that redirects (301, 302, 303, 307, 308).
 *
 * @example
 * ```ts
 * isRedirect(307); // true
 * ```
 */
export function isRedirect(status: number): boolean {
  return REDIRECT.has(status);
}

/**
 * Like `fetch(url, init)`, but a redirect is followed only to a host the loopback guard allows.
 *
 * @example
 * ```ts
 * const res = await guardedFetch("http://127.0.0.1:8000/v1/models"); // a 307 to 10.0.0.5 throws
 * ```
 */
export async function guardedFetch(
  url: string | URL,
  init: RequestInit = {},
  opts: GuardedFetchOptions = {},
): Promise<Response> {
  const allow_remote = opts.allow_remote ?? allowRemoteFromEnv();
  const max = opts.max_redirects ?? 5;
  let current = new URL(url);
  let req: RequestInit = { ...init, redirect: "manual" };
  for (let hop = 0;; hop++) {
    const res = await fetch(current, req);
    const location = res.headers.get("location");
    if (!isRedirect(res.status) || location === null) return res;
    await res.body?.cancel();
    const from = redactUrl(current.href);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new RedirectRefusedError(
        `${from} answered ${res.status} with a Location that is not a URL; the lab does not follow it. ` +
          "Point the lab at the server's final URL.",
        from,
        location,
      );
    }
    const to = redactUrl(next.href);
    if (hop >= max) {
      throw new RedirectRefusedError(
        `${from} redirected more than ${max} times (last to ${to}); point the lab at the server's final URL.`,
        from,
        to,
      );
    }
    try {
      checkLoadTarget(next.href, allow_remote);
    } catch (err) {
      throw new RedirectRefusedError(
        `Refusing to follow a redirect (${res.status}) from ${from} to ${to}: ${(err as Error).message}`,
        from,
        to,
      );
    }
    const headers = new Headers(req.headers);
    if (next.origin !== current.origin) headers.delete("authorization");
    const method = (req.method ?? "GET").toUpperCase();
    const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST");
    req = toGet ? { ...req, method: "GET", body: undefined, headers } : { ...req, headers };
    if (toGet) headers.delete("content-type");
    current = next;
  }
}
