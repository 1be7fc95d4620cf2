import assert from "node:assert/strict";
import { parseServeConfig } from "./config.ts";
import { engineArgv, engineEnv } from "./launch.ts";
import { llamaServerArgs } from "./llamacpp.ts";
import { parseStartupLog } from "./startup_log.ts";

const gguf = { engine: "llamacpp" as const, model: "/m/tiny-llama.gguf", port: 8080 };

Deno.test("llamacpp args: slots from max_num_seqs, -c = max_model_len x slots, threads from cpus, caching off", () => {
  const a = llamaServerArgs(parseServeConfig({
    ...gguf,
    served_model_name: "tiny",
    max_model_len: 4096,
    max_num_seqs: 8,
    enable_prefix_caching: false,
    cpus: "0-2",
    max_num_batched_tokens: 1024,
    extra_args: ["--cache-reuse", "256"],
  }));
  const flag = (f: string) => a[a.indexOf(f) + 1];
  assert.equal(flag("-m"), "/m/tiny-llama.gguf");
  assert.equal(flag("--host"), "127.0.0.1");
  assert.equal(flag("--port"), "8080");
  assert.equal(flag("-a"), "tiny");
  assert.equal(flag("-np"), "8");
  assert.equal(flag("-c"), String(4096 * 8));
  assert.equal(flag("-t"), "3");
  assert.equal(flag("-b"), "1024");
  assert.equal(flag("--cache-ram"), "0", "no host-RAM prompt cache: erasing the slots resets every cache");
  assert.ok(a.includes("--slots"));
  assert.ok(a.includes("--no-cache-prompt") && a.includes("--metrics"));
  assert.deepEqual(a.slice(-2), ["--cache-reuse", "256"]);
  const d = llamaServerArgs(parseServeConfig(gguf));
  assert.equal(d[d.indexOf("-np") + 1], "4");
  assert.equal(d[d.indexOf("-c") + 1], "0", "no max_model_len: the model's trained context, shared");
  assert.ok(!d.includes("-t") && !d.includes("--no-cache-prompt"));
  const argv = engineArgv(parseServeConfig(gguf), { llamacpp_command: "/bin/llama-server" });
  assert.equal(argv[0], "/bin/llama-server");
});

Deno.test("llamacpp args: vLLM-only settings and a non-GGUF model are errors that name the fix", () => {
  assert.throws(
    () => llamaServerArgs(parseServeConfig({ ...gguf, kv_cache_memory_bytes: 1 << 20, block_size: 16 })),
    /no equivalent of kv_cache_memory_bytes \(--kv-cache-memory-bytes\), block_size.*max_model_len x max_num_seqs/,
  );
  assert.throws(
    () => llamaServerArgs(parseServeConfig({ ...gguf, model: "/m/tiny-model" })),
    /not a \.gguf file.*tiny-model DIR --gguf/,
  );
});

Deno.test("engineEnv: cpus bind vLLM's threads; a requested KV size unsets VLLM_CPU_KVCACHE_SPACE", () => {
  const v = engineEnv(parseServeConfig({
    engine: "vllm",
    model: "m",
    cpus: "0",
    kv_cache_memory_bytes: 14_942_208,
    env: { VLLM_CPU_KVCACHE_SPACE: "1" },
  }));
  assert.equal(v.VLLM_CPU_OMP_THREADS_BIND, "0");
  assert.ok("VLLM_CPU_KVCACHE_SPACE" in v && v.VLLM_CPU_KVCACHE_SPACE === undefined, "removed, not kept");
  const kept = engineEnv(
    parseServeConfig({ engine: "vllm", model: "m", env: { VLLM_CPU_KVCACHE_SPACE: "1" } }),
  );
  assert.equal(kept.VLLM_CPU_KVCACHE_SPACE, "1", "no KV size asked: the variable stays");
  assert.equal(kept.VLLM_CPU_OMP_THREADS_BIND, undefined);
  const own = engineEnv(parseServeConfig({
    engine: "vllm",
    model: "m",
    cpus: "0-3",
    env: { VLLM_CPU_OMP_THREADS_BIND: "0-1|2-3" },
  }));
  assert.equal(own.VLLM_CPU_OMP_THREADS_BIND, "0-1|2-3", "an explicit binding wins");
  assert.throws(
    () => parseServeConfig({ engine: "external", model: "m", url: "http://127.0.0.1:1", cpus: "0" }),
    /cpus pins an engine the lab starts/,
  );
});

Deno.test("startup log of llama.cpp's server (real, xllamacpp): version, slots, context, KV size, weights, phases", async () => {
  const text = await Deno.readTextFile(new URL("./testdata/llamacpp_xllamacpp_real.log", import.meta.url));
  const r = parseStartupLog(text);
  assert.equal(r.version, "xllamacpp 2026.10.11549 (llama.cpp b0-unknown)");
  assert.equal(r.server_up, true);
  assert.equal(r.max_model_len, 4096);
  assert.equal(r.max_concurrency, 4);
  assert.equal(r.max_concurrency_len, 4096);
  assert.equal(r.kv_cache_tokens, 16384);
  assert.equal(r.available_kv_gib, 16 / 1024);
  assert.equal(r.weights_gib, Math.round(5.5 / 1024 * 1e6) / 1e6);
  assert.deepEqual(r.phases.map((p) => p.name), ["weights_load", "profile_kv_warmup"]);
  assert.ok(r.phases.every((p) => p.seconds >= 0 && p.seconds < 5 && p.source === "log"));
  assert.deepEqual(r.errors, []);
  assert.equal(r.fit_error, undefined);
  const bad = parseStartupLog("0.00.010.000 E llama_model_load: error loading model: tensor 'x' not found");
  assert.equal(bad.errors.length, 1);
});
