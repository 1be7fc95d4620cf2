import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import type { FaultFlags } from "../sim/faults.ts";
import { createSim } from "../sim/instance.ts";
import { createSimHandler, serveSim } from "../sim/server.ts";
import { runHealth } from "./check.ts";
import { defaultThresholds, type Thresholds } from "./thresholds.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

/** The defaults with a smaller canary, so each test takes a second or two. */
function small(): Thresholds {
  const t = defaultThresholds();
  t.canary = { concurrency: 2, requests: 6, prompt_tokens: 64, max_tokens: 8, timeout_s: 15 };
  return t;
}

function sim(faults: FaultFlags = {}) {
  return serveSim(parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096, sim: { faults } }), {
    port: 0,
  });
}

Deno.test("a healthy embedded engine passes: exit 0, every check ok or n/a, simulated", async () => {
  await using srv = await sim();
  const r = await runHealth(srv.url, small());
  assert.equal(r.kind, "judged", r.kind === "failed" ? r.error : "");
  if (r.kind !== "judged") return;
  assert.equal(r.exit_code, 0);
  assert.equal(r.simulated, true);
  assert.equal(r.model, MODEL);
  assert.match(r.server_version ?? "", /servelab-sim/);
  assert.equal(r.canary.prompt, "token_ids");
  assert.equal(r.canary.succeeded, 6);
  const by = Object.fromEntries(r.checks.map((c) => [c.id, c]));
  for (
    const id of ["ttft_p95_ms", "e2e_p95_ms", "output_tok_s", "error_rate", "queue_depth_max", "kv_usage_max"]
  ) {
    assert.equal(by[id].status, "ok", `${id}: ${JSON.stringify(by[id])}`);
    assert.ok(by[id].measured !== undefined);
  }
  assert.ok(by.ttft_p95_ms.measured! > 0 && by.ttft_p95_ms.measured! <= by.e2e_p95_ms.measured!);
  assert.ok(by.kv_usage_max.measured! >= 0 && by.kv_usage_max.measured! <= 1);
  assert.equal(by.kv_usage_max.source, "vllm:kv_cache_usage_perc");
  assert.equal(by.error_rate.measured, 0);
  assert.equal(by.preemptions.measured, 0);
  // The seed's five first, in its order; GPU utilisation and VRAM headroom from the engine's model of its
  // device (/servelab/gpu), labelled SIMULATED.
  assert.deepEqual(r.checks.slice(0, 5).map((c) => c.id), [
    "ttft_p95_ms",
    "e2e_p95_ms",
    "output_tok_s",
    "gpu_util_max",
    "gpu_memory_headroom_gib",
  ]);
  for (const id of ["gpu_util_max", "gpu_memory_headroom_gib"]) {
    assert.equal(by[id].status, "ok", `${id}: ${JSON.stringify(by[id])}`);
    assert.match(by[id].source ?? "", /^SIMULATED: the embedded engine's model of its GPU/);
  }
  assert.ok(by.gpu_util_max.measured! > 0 && by.gpu_util_max.measured! <= 1, "busy during the canary");
  assert.ok(by.gpu_memory_headroom_gib.measured! > 0 && by.gpu_memory_headroom_gib.measured! < 80);
});

Deno.test("an engine started with a fault flag fails: 500s breach error_rate (exit 1)", async () => {
  await using srv = await sim({ http_500_rate: 0.5 });
  const r = await runHealth(srv.url, small());
  assert.equal(r.kind, "judged");
  if (r.kind !== "judged") return;
  assert.equal(r.exit_code, 1);
  const err = r.checks.find((c) => c.id === "error_rate")!;
  assert.equal(err.status, "breach");
  assert.ok(err.measured! > 0 && err.measured! < 1);
  assert.equal(err.measured, (r.canary.requests - r.canary.succeeded) / r.canary.requests);
});

Deno.test("a stalled stream is cut at the deadline and breaches error_rate", async () => {
  await using srv = await sim({ stall_after_tokens: 2 });
  const t = small();
  t.canary.timeout_s = 3;
  const t0 = performance.now();
  const r = await runHealth(srv.url, t);
  assert.ok(performance.now() - t0 < 9000, "ends near its 3 s deadline, not at the 300 s request timeout");
  assert.equal(r.kind, "judged");
  if (r.kind !== "judged") return;
  assert.equal(r.exit_code, 1);
  assert.equal(r.canary.deadline_hit, true);
  assert.equal(r.checks.find((c) => c.id === "error_rate")!.measured, 1);
  const ttft = r.checks.find((c) => c.id === "ttft_p95_ms")!;
  assert.deepEqual([ttft.status, ttft.measured], ["breach", undefined]);
  assert.match(ttft.reason ?? "", /no canary request succeeded/);
  assert.equal(r.checks.find((c) => c.id === "output_tok_s")!.status, "breach");
});

Deno.test("thresholds a healthy engine cannot meet are breached, naming the check", async () => {
  await using srv = await sim();
  const t = small();
  t.checks = t.checks.map((c) => c.id === "ttft_p95_ms" ? { ...c, value: 0.001 } : c);
  const r = await runHealth(srv.url, t);
  assert.equal(r.exit_code, 1);
  if (r.kind !== "judged") return;
  assert.deepEqual(r.checks.filter((c) => c.status === "breach").map((c) => c.id), ["ttft_p95_ms"]);
});

Deno.test("a closed port is unreachable (exit 2) and names the URL", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const r = await runHealth(`http://127.0.0.1:${port}`, small());
  assert.equal(r.exit_code, 2);
  assert.equal(r.kind === "failed" && r.failure, "unreachable");
  assert.match(r.kind === "failed" ? r.error : "", new RegExp(`127\\.0\\.0\\.1:${port}/v1/models`));
});

Deno.test("a server that is not OpenAI-compatible is refused (exit 2)", async () => {
  await using srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("<html>hello</html>", { headers: { "content-type": "text/html" } }),
  );
  const r = await runHealth(`http://127.0.0.1:${srv.addr.port}`, small());
  assert.equal(r.exit_code, 2);
  assert.equal(r.kind === "failed" && r.failure, "not_openai");
  assert.match(r.kind === "failed" ? r.error : "", /not an OpenAI-compatible server.*not JSON/);
});

Deno.test("a remote host is refused before anything is sent, a missing key or model is named", async () => {
  const r = await runHealth("http://10.255.255.1:8000", small(), { allow_remote: false });
  assert.equal(r.kind === "failed" && r.failure, "refused");
  assert.match(r.kind === "failed" ? r.error : "", /not loopback.*--allow-remote/);
  const k = await runHealth("http://127.0.0.1:1", small(), { api_key_env: "NOPE_KEY", env: () => undefined });
  assert.equal(k.kind === "failed" && k.failure, "api_key");
  assert.match(k.kind === "failed" ? k.error : "", /NOPE_KEY/);
  await using srv = await sim();
  const m = await runHealth(srv.url, small(), { model: "other/model" });
  assert.equal(m.kind === "failed" && m.failure, "no_model");
  assert.match(m.kind === "failed" ? m.error : "", new RegExp(`other/model.*${MODEL}`));
});

/** The embedded engine with some endpoints answering 404 (so it also no longer says it is simulated). */
function hiding(hidden: string[]) {
  const s = createSim(parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096 }), { env: {} });
  const handler = createSimHandler(s);
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => hidden.includes(new URL(req.url).pathname) ? new Response("no", { status: 404 }) : handler(req),
  );
  return {
    url: `http://127.0.0.1:${srv.addr.port}`,
    [Symbol.asyncDispose]: async () => {
      await s.close();
      await srv.shutdown();
    },
  };
}

Deno.test("GPU headroom is the smallest free memory nvidia-smi reports for a local real server", async () => {
  await using srv = hiding(["/version"]);
  const smi = (used_mib: number) => ({
    run: (_cmd: string, args: string[]) =>
      Promise.resolve({
        code: 0,
        stdout: args[0].startsWith("--query-gpu")
          ? `0, NVIDIA L4, GPU-1, 23034, ${used_mib}, 40, 550.54.15\n`
          : "",
        stderr: "",
      }),
  });
  const ok = await runHealth(srv.url, small(), { gpu: smi(21_000) });
  const low = await runHealth(srv.url, small(), { gpu: smi(22_800) });
  const head = (r: typeof ok) =>
    r.kind === "judged" ? r.checks.find((c) => c.id === "gpu_memory_headroom_gib")! : undefined;
  assert.equal(head(ok)?.status, "ok");
  assert.equal(head(ok)?.measured, (23034 - 21000) / 1024);
  assert.equal(head(low)?.status, "breach");
  assert.equal(low.exit_code, 1);
  const none = await runHealth(srv.url, small(), {
    gpu: { run: () => Promise.reject(new Deno.errors.NotFound("x")) },
  });
  const noneHead = none.kind === "judged"
    ? none.checks.find((c) => c.id === "gpu_memory_headroom_gib")
    : undefined;
  assert.match(noneHead?.reason ?? "", /no GPU visible/);
});

Deno.test("without /tokenize, /metrics and /version: text prompts, server checks n/a, not simulated", async () => {
  await using srv = hiding(["/tokenize", "/metrics", "/version"]);
  const r = await runHealth(srv.url, small());
  assert.equal(r.kind, "judged");
  if (r.kind !== "judged") return;
  assert.equal(r.exit_code, 0);
  assert.equal(r.canary.prompt, "text");
  assert.equal(r.simulated, false);
  assert.equal(r.server_version, undefined);
  assert.ok(r.notes.some((n) => n.includes("seeded text")));
  const by = Object.fromEntries(r.checks.map((c) => [c.id, c]));
  for (const id of ["queue_depth_max", "kv_usage_max", "preemptions"]) {
    assert.equal(by[id].status, "n/a");
    assert.match(by[id].reason ?? "", /no \/metrics: .*HTTP 404/);
  }
  assert.equal(by.error_rate.status, "ok");
  assert.equal(by.gpu_memory_headroom_gib.status, "n/a");
});
