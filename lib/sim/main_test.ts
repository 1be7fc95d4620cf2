import assert from "node:assert/strict";
import { parseStartupLog } from "../engine/startup_log.ts";
import { parseCli } from "./main.ts";
import { CRASH_EXIT_CODE } from "./faults.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Spawns `main.ts serve ...`, collecting stdout lines; resolves `ready` at the uvicorn startup line. */
function spawn(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, MAIN, "serve", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { VLLM_SERVER_DEV_MODE: "1" },
  }).spawn();
  const lines: string[] = [];
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const read = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.includes("Application startup complete.")) ready();
      }
    }
  })();
  const stderr = (async () => {
    let s = "";
    for await (const c of child.stderr) s += new TextDecoder().decode(c);
    return s;
  })();
  return { child, lines, ready: readyP, done: Promise.all([child.status, read, stderr]) };
}

Deno.test("parseCli takes `serve MODEL flags` and rejects anything else", () => {
  assert.equal(parseCli(["serve", MODEL, "--max-model-len", "2048"]).max_model_len, 2048);
  assert.throws(() => parseCli(["run", MODEL]), /Unknown command 'run'/);
  assert.throws(() => parseCli(["serve"]), /Missing MODEL/);
  assert.throws(
    () => parseCli(["serve", MODEL, "--max-model-len", "abc"]),
    /--max-model-len needs an integer/,
  );
});

Deno.test("main.ts serves: vLLM's startup lines, /health, then SIGTERM exits 0", async () => {
  const port = freePort();
  const p = spawn([
    MODEL,
    "--port",
    String(port),
    "--max-model-len",
    "4096",
    "--sim-startup-time-scale",
    "0.01",
  ]);
  await p.ready;
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ prompt: "hi", max_tokens: 3 }),
  });
  assert.equal((await r.json()).usage.completion_tokens, 3);
  const reset = await fetch(`http://127.0.0.1:${port}/reset_prefix_cache`, { method: "POST" });
  assert.equal(reset.status, 200, "the launcher's VLLM_SERVER_DEV_MODE=1 enables /reset_prefix_cache");
  await reset.body?.cancel();
  p.child.kill("SIGTERM");
  const [status] = await p.done;
  assert.equal(status.code, 0);
  const log = p.lines.join("\n");
  const rep = parseStartupLog(log);
  assert.equal(rep.simulated, true);
  assert.equal(rep.startup_time_scale, 0.01);
  assert.equal(rep.server_up, true);
  assert.equal(rep.max_model_len, 4096);
  assert.ok(rep.kv_cache_tokens! > 1_000_000, `KV tokens ${rep.kv_cache_tokens}`);
  assert.equal(rep.max_concurrency_len, 4096);
  assert.ok(log.includes(`Starting vLLM API server 0 on http://127.0.0.1:${port}`));
  assert.match(p.lines[0], /^servelab-sim: startup phases are simulated \(time scale 0\.01\)$/);
  for (const l of p.lines.filter((l) => l.startsWith("(APIServer") && / INFO \d\d-\d\d /.test(l))) {
    assert.match(l, /^\(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[[\w.]+\.py:\d+\] \S/);
  }
  assert.ok(log.includes("Shutting down FastAPI HTTP server."));
});

Deno.test("main.ts exits 1 with vLLM's fit error when the model does not fit", async () => {
  const p = spawn([MODEL, "--port", String(freePort()), "--kv-cache-memory-bytes", String(64 * 2 ** 20)]);
  const [status] = await p.done;
  assert.equal(status.code, 1);
  const rep = parseStartupLog(p.lines.join("\n"));
  assert.equal(rep.server_up, false);
  assert.equal(rep.fit_error?.max_model_len, 32768);
  assert.match(p.lines.join("\n"), /To serve at least one request with the models's max seq len \(32768\)/);
});

Deno.test("main.ts exits 2 on bad flags, naming the flag", async () => {
  const p = spawn([MODEL, "--max-num-seqs", "many"]);
  const [status, , stderr] = await p.done;
  assert.equal(status.code, 2);
  assert.match(stderr, /--max-num-seqs needs an integer, got 'many'/);
});

Deno.test("main.ts dies with code 137 after --sim-crash-after-requests", async () => {
  const port = freePort();
  const p = spawn([
    MODEL,
    "--port",
    String(port),
    "--sim-startup-time-scale",
    "0.001",
    "--sim-crash-after-requests",
    "1",
  ]);
  await p.ready;
  const r = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({ prompt: "hi", max_tokens: 2 }),
  });
  assert.equal((await r.json()).usage.completion_tokens, 2);
  const [status] = await p.done;
  assert.equal(status.code, CRASH_EXIT_CODE);
});
