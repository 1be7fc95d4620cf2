/**
 * Where load may go: the lab measures servers on this machine (loopback) unless told otherwise, so a
 * typo in a URL, or a notebook opened with someone else's settings, cannot send a load test to a
 * shared or production server. The check runs before any connection is opened.
 *
 * Told otherwise means one of: `allow_remote: true` in the options of `probe`, `runLoad` or `launch`,
 * `SERVELAB_ALLOW_REMOTE=1` in the environment, or `./servelab run --allow-remote` (which sets it for
 * the notebooks).
 * @module
 */

/** Environment variable that allows load to non-loopback hosts when it is `1`. */
export const ALLOW_REMOTE_ENV = "SERVELAB_ALLOW_REMOTE";

/**
 * True for 127.0.0.0/8, ::1 and localhost.
 *
 * @example
 * ```ts
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("10.0.0.1"); // false
 * ```
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * The URL with any userinfo (`user:password@`) removed, for anything the lab writes or prints. A string
 * that does not parse as a URL has a `scheme://user:pass@` prefix removed by pattern instead.
 *
 * @example
 * ```ts
 * redactUrl("http://admin:secret@127.0.0.1:8000/v1"); // "http://127.0.0.1:8000/v1"
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === "" && u.password === "") return url;
    u.username = "";
    u.password = "";
    return u.pathname === "/" && !/\/$/.test(url) && u.search === "" && u.hash === ""
      ? u.href.slice(0, -1)
      : u.href;
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, "$1");
  }
}

/**
 * True when `SERVELAB_ALLOW_REMOTE=1` (false when the variable cannot be read).
 *
 * @example
 * ```ts
 * allowRemoteFromEnv(); // false unless SERVELAB_ALLOW_REMOTE=1
 * ```
 */
export function allowRemoteFromEnv(): boolean {
  try {
    return Deno.env.get(ALLOW_REMOTE_ENV) === "1";
  } catch {
    return false;
  }
}

/**
 * Throws, before anything is sent, when `baseUrl` is not an http(s) URL or its host is not loopback and
 * remote hosts are not allowed (`allow_remote`, default {@link allowRemoteFromEnv}).
 *
 * @example
 * ```ts
 * checkLoadTarget("http://127.0.0.1:8000"); // ok
 * checkLoadTarget("http://10.0.0.1:8000"); // throws: Refusing to send load to http://10.0.0.1:8000 ...
 * ```
 */
export function checkLoadTarget(baseUrl: string, allow_remote: boolean = allowRemoteFromEnv()): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(
      `Cannot send load to '${redactUrl(baseUrl)}': it is not a URL. Give one like http://127.0.0.1:8000.`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Cannot send load to '${redactUrl(baseUrl)}': use http or https, not ${url.protocol}`);
  }
  if (!allow_remote && !isLoopbackHost(url.hostname)) {
    throw new Error(
      `Refusing to send load to ${
        redactUrl(baseUrl)
      }: host '${url.hostname}' is not loopback (127.0.0.0/8, ::1, ` +
        `localhost). To measure a remote server on purpose, pass allow_remote: true, set ${ALLOW_REMOTE_ENV}=1, ` +
        "or run ./servelab run --allow-remote.",
    );
  }
}
