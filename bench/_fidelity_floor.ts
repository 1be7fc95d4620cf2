/**
 * The C instruments of bench/client_fidelity.ts (bench/floor/):
 *
 * - `dial_server.c`, the tight ground truth: the dial server's timing (first-token delay, gap, output
 *   lengths) with a stamp right before each token's write(). The Deno dial server stamps when it
 *   enqueues a chunk, before its HTTP stack writes it, and at hundreds of streams that gap (milliseconds)
 *   was charged to the client: the floor client measured 14-16 ms TTFT error p99 at 256 streams against
 *   it, as much as ours.
 * - `floor_client.c`, the floor: the same closed-loop workload through one C thread on epoll with a stamp
 *   right after each read() and no parsing beyond finding content. Its error is what the server, the
 *   kernel and the machine add, which no client removes; the lab's client is judged by what it adds above.
 *
 * Both are built with the machine's C compiler (`cc`) into .servelab/bin on first use, named by a hash
 * of their source; without a compiler the bench falls back to the Deno dial server and leaves the floor
 * out, and says so.
 * @module
 */
import type { ClientTiming } from "./_fidelity.ts";
import {
  type DialProcess,
  type DialProcessSettings,
  firstLine,
  type GroundTruth,
} from "../lib/probe/testing/mod.ts";

const BIN_DIR = new URL("../.servelab/bin/", import.meta.url).pathname;

/** Compiles bench/floor/NAME.c unless a binary of this source exists; why not, if it can't. */
export async function buildC(
  name: "floor_client" | "dial_server",
): Promise<{ path: string } | { why: string }> {
  const source = new URL(`./floor/${name}.c`, import.meta.url).pathname;
  const src = await Deno.readTextFile(source);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(src)));
  const tag = Array.from(digest.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  const path = `${BIN_DIR}${name}-${tag}`;
  try {
    await Deno.stat(path);
    return { path };
  } catch { /* build it */ }
  await Deno.mkdir(BIN_DIR, { recursive: true });
  try {
    const out = await new Deno.Command("cc", { args: ["-O2", "-o", path, source], stderr: "piped" }).output();
    if (!out.success) return { why: `cc failed: ${new TextDecoder().decode(out.stderr).slice(0, 300)}` };
  } catch (err) {
    return { why: `no C compiler (cc): ${err instanceof Error ? err.message : err}` };
  }
  return { path };
}

/** Parses the C dial server's truth file (see dial_server.c) into ground-truth records. */
export function parseTruths(text: string): GroundTruth[] {
  const out: GroundTruth[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const tab = line.indexOf("\t");
    const [request_id, index, arrival, ...tokens] = line.slice(0, tab).split(" ");
    let prompt: string;
    try {
      prompt = JSON.parse(`"${line.slice(tab + 1)}"`);
    } catch {
      prompt = line.slice(tab + 1);
    }
    const token_ms = tokens.map(Number);
    out.push({
      request_id,
      index: Number(index),
      path: "/v1/completions",
      body: { prompt },
      headers: {},
      arrival_ms: Number(arrival),
      token_ms,
      first_token_ms: token_ms[0],
    });
  }
  return out;
}

/** The C dial server in a child process, with the Deno dial process's interface. */
export async function cDialProcess(bin: string, s: DialProcessSettings): Promise<DialProcess> {
  const file = await Deno.makeTempFile({ prefix: "servelab-truth-" });
  const child = new Deno.Command(bin, {
    args: [s.ttft_ms, s.itl_ms, s.tokens_base, s.tokens_spread].map(String).concat(file),
    // The server exits when this pipe closes: it cannot outlive the bench, even a killed one.
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const port = Number(await firstLine(child, "The C dial server"));
  const truths = async (from = 0) =>
    parseTruths(await Deno.readTextFile(file)).filter((t) => t.index >= from);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    truths,
    truth: async (id) => (await truths()).find((t) => t.request_id === id),
    pid: child.pid,
    [Symbol.asyncDispose]: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(file).catch(() => {});
    },
  };
}

/** The Deno floor (bench/floor/deno_floor.ts): floor_client.c's loop in this runtime. */
export const DENO_FLOOR: readonly string[] = [
  Deno.execPath(),
  "run",
  "-A",
  new URL("./floor/deno_floor.ts", import.meta.url).pathname,
];

/**
 * Runs a floor client (the C binary, or DENO_FLOOR) closed loop at `n` connections for `warmup + count` requests and returns the
 * timings of the measured ones (request ids `${tag}-${i}`, i >= warmup), plus how many failed.
 */
export async function runFloor(
  cmd: readonly string[],
  baseUrl: string,
  n: number,
  warmup: number,
  count: number,
  tag: string,
): Promise<{ timings: ClientTiming[]; failed: number }> {
  const port = new URL(baseUrl).port;
  const file = await Deno.makeTempFile({ prefix: "servelab-floor-" });
  try {
    const out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), port, String(n), String(warmup + count), tag, file],
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `floor client ${cmd.at(-1)} exited ${out.code}: ${
          new TextDecoder().decode(out.stderr).slice(0, 300)
        }`,
      );
    }
    const timings: ClientTiming[] = [];
    let failed = 0;
    for (const line of (await Deno.readTextFile(file)).split("\n")) {
      if (!line) continue;
      const [id, send, ...rest] = line.split(" ");
      const index = Number(id.slice(id.lastIndexOf("-") + 1));
      if (send === "FAIL" || rest.length === 0) {
        if (index >= warmup) failed++;
        continue;
      }
      if (index < warmup) continue;
      const t = rest.map(Number);
      timings.push({
        key: id,
        ttft_ms: t[0] - Number(send),
        itl_ms: t.slice(1).map((x, i) => x - t[i]),
      });
    }
    return { timings, failed };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}
