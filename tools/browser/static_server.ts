/**
 * A static file server for one folder on 127.0.0.1 (a random port), so the browser loads a report over
 * HTTP as a person who serves `reports/` would, not from file:// (which hides missing files as
 * navigation errors). Paths outside the folder are refused.
 * @module
 */
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
  ".csv": "text/csv; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ipynb": "application/x-ipynb+json",
  ".log": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** A running static server; disposing it stops it. */
export interface StaticServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>/`, with the trailing slash. */
  readonly url: string;
  /** Paths requested so far (URL paths, in order). */
  readonly requested: string[];
  close(): Promise<void>;
}

/**
 * Serves `dir` read-only on 127.0.0.1 at a random port.
 *
 * @example
 * ```ts
 * await using srv = serveFolder("reports/20261128-055714-sim-1e89");
 * await fetch(srv.url + "index.html");
 * ```
 */
export function serveFolder(dir: string): StaticServer {
  const root = normalize(dir).replace(/\/$/, "");
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    requested.push(path);
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("GET only", { status: 405 });
    const file = normalize(join(root, path.endsWith("/") ? path + "index.html" : path));
    if (file !== root && !file.startsWith(root + sep)) return new Response("outside", { status: 403 });
    try {
      const body = await Deno.readFile(file);
      const type = TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
      return new Response(req.method === "HEAD" ? null : body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const close = async () => {
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    requested,
    close,
    [Symbol.asyncDispose]: close,
  };
}
