/**
 * The dial server in a process of its own, for measurements where the client and the server must not
 * share one event loop (the fidelity test: 32 streams written and read by one JS thread measure the
 * thread, not the probe). The child serves the dial server's API on one port and the ground truth
 * (GET /?request_id=ID; times on the child's clock, so only differences of them are meaningful to the
 * caller) on another, and prints both ports on stdout. GET /all?from=INDEX returns every request from arrival
 * index INDEX on, compactly (no headers), for benchmarks that join thousands of requests at once.
 *
 *   deno run -A lib/probe/testing/dial_process.ts '{"ttft_ms":200,"itl_ms":10,"tokens_base":20,"tokens_spread":8}'
 * @module
 */
import { dialServer, type GroundTruth } from "./dial_server.ts";

/** The child's settings: a fixed dial, and output lengths tokens_base + (arrival index % tokens_spread). */
export interface DialProcessSettings {
  ttft_ms: number;
  itl_ms: number;
  tokens_base: number;
  tokens_spread: number;
}

/** A dial server running in a child process. */
export interface DialProcess extends AsyncDisposable {
  readonly baseUrl: string;
  /** The child's ground truth for one request id. */
  truth(request_id: string): Promise<GroundTruth | undefined>;
  /** Every request from arrival index `from` on (default 0), without request headers. */
  truths(from?: number): Promise<GroundTruth[]>;
  /** The child's process id (for measuring its CPU time). */
  readonly pid: number;
}

/**
 * The first line a child prints on its piped stdout (a server's port), trimmed; the rest of stdout is
 * discarded. Throws naming `who` when the child exits first.
 */
export async function firstLine(child: Deno.ChildProcess, who: string): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${who} exited before printing its port.`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return text.trim();
}

/**
 * Starts the dial server in a child process and waits for its port.
 *
 * @example
 * ```ts
 * await using srv = await dialProcess({ ttft_ms: 200, itl_ms: 10, tokens_base: 20, tokens_spread: 8 });
 * ```
 */
export async function dialProcess(settings: DialProcessSettings): Promise<DialProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, JSON.stringify(settings)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const [port, truthPort] = (await firstLine(child, "The dial server process")).split(" ").map(Number);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    truth: async (request_id) => {
      const res = await fetch(`http://127.0.0.1:${truthPort}/?request_id=${encodeURIComponent(request_id)}`);
      return res.status === 404 ? (await res.body?.cancel(), undefined) : await res.json();
    },
    truths: async (from = 0) => {
      const res = await fetch(`http://127.0.0.1:${truthPort}/all?from=${from}`);
      return await res.json();
    },
    pid: child.pid,
    [Symbol.asyncDispose]: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

if (import.meta.main) {
  const s: DialProcessSettings = JSON.parse(Deno.args[0]);
  const srv = await dialServer({
    ttft_ms: s.ttft_ms,
    itl_ms: s.itl_ms,
    dial: (r) => ({ tokens: s.tokens_base + (r.index % s.tokens_spread) }),
  });
  const truthServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/all") {
      const from = Number(url.searchParams.get("from") ?? 0);
      return Response.json(srv.truths().slice(from).map((t) => ({ ...t, headers: {} })));
    }
    const id = url.searchParams.get("request_id") ?? "";
    const t = srv.truth(id);
    return t ? Response.json(t) : new Response("unknown request id", { status: 404 });
  });
  console.log(`${srv.port} ${truthServer.addr.port}`);
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}
