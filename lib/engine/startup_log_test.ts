import assert from "node:assert/strict";
import { parseStartupLog, StartupLogParser } from "./startup_log.ts";
import type { StartupReport } from "./types.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));
const base = { server_up: false, simulated: false, phases: [], errors: [] } satisfies StartupReport;
const log = (name: string, seconds: number) => ({ name, seconds, source: "log" as const });

Deno.test("v0.10.1 log with the two-line KV form yields capacity, blocks and init time", () => {
  assert.deepEqual(parseStartupLog(fixture("v0_10_1_two_line_kv.log")), {
    ...base,
    max_model_len: 40000,
    available_kv_gib: 112.61,
    kv_cache_tokens: 922496,
    max_concurrency_len: 40000,
    max_concurrency: 23.06,
    init_engine_s: 1.06,
    num_gpu_blocks: 57656,
    server_up: true,
    phases: [log("profile_kv_warmup", 1.06)],
  });
});

Deno.test("v0.10.2 partial log yields the version and max len, and nothing it does not state", () => {
  assert.deepEqual(parseStartupLog(fixture("v0_10_2_version_lines.log")), {
    ...base,
    version: "0.10.2.dev378+g4d7fe40fc.d20250829",
    max_model_len: 32768,
  });
});

Deno.test("v0.11 log yields compile, graph capture and a phase split that sums to init engine", () => {
  const r = parseStartupLog(fixture("v0_11_two_line_graph_capture.log"));
  assert.deepEqual(r, {
    ...base,
    compile_s: 7.14,
    available_kv_gib: 16.23,
    kv_cache_tokens: 425424,
    max_concurrency_len: 65536,
    max_concurrency: 6.49,
    graph_capture_s: 7,
    graph_gib: 0.95,
    init_engine_s: 25.99,
    num_gpu_blocks: 26589,
    phases: [log("compile", 7.14), log("graph_capture", 7), log("profile_kv_warmup", 11.85)],
  });
  const inner = r.phases.filter((p) => p.name !== "weights_load").reduce((s, p) => s + p.seconds, 0);
  assert.ok(Math.abs(inner - r.init_engine_s!) < 1e-9);
});

Deno.test("Nov 2025 log reads `Model loading took X GiB memory and Y seconds`", () => {
  assert.deepEqual(parseStartupLog(fixture("v0_12_model_loading_memory.log")), {
    ...base,
    weights_gib: 2.0513,
    model_load_s: 27.200487,
    compile_s: 19.69,
    available_kv_gib: 33.31,
    kv_cache_tokens: 1587648,
    max_concurrency_len: 2048,
    max_concurrency: 775.22,
    phases: [log("weights_load", 27.200487), log("compile", 19.69)],
  });
});

Deno.test("`took N s (compilation: M s)` supplies compile time when no torch.compile line exists", () => {
  assert.deepEqual(parseStartupLog(fixture("v0_2x_init_compilation_tp2.log")), {
    ...base,
    graph_capture_s: 1,
    graph_gib: 0.45,
    init_engine_s: 90,
    compile_s: 8.9,
    phases: [log("compile", 8.9), log("graph_capture", 1), log("profile_kv_warmup", 80.1)],
  });
});

Deno.test(">= v0.27 log with the one-line KV form and the new version and server lines", () => {
  assert.deepEqual(parseStartupLog(fixture("v0_27_one_line_kv.log")), {
    ...base,
    version: "0.27.1",
    block_size: 16,
    max_model_len: 4096,
    weights_load_s: 1.12,
    weights_gib: 2.89,
    model_load_s: 1.734121,
    compile_s: 9.84,
    available_kv_gib: 63.9,
    kv_cache_tokens: 2392992,
    max_concurrency_len: 4096,
    max_concurrency: 584.23,
    graph_capture_s: 4,
    graph_gib: 0.51,
    init_engine_s: 17.96,
    num_gpu_blocks: 149562,
    server_up: true,
    phases: [
      log("weights_load", 1.734121),
      log("compile", 9.84),
      log("graph_capture", 4),
      log("profile_kv_warmup", 4.12),
    ],
  });
});

Deno.test("CPU backend log: weights, KV size from the VLLM_CPU_KVCACHE_SPACE warning, no GPU-only fields", () => {
  assert.deepEqual(parseStartupLog(fixture("cpu_v0_14.log")), {
    ...base,
    weights_load_s: 2.42,
    kv_cache_tokens: 38272,
    max_concurrency_len: 2048,
    max_concurrency: 18.69,
    init_engine_s: 27.58,
    available_kv_gib: 11.72,
    phases: [log("weights_load", 2.42), log("profile_kv_warmup", 27.58)],
  });
});

Deno.test("real vLLM 0.32 CPU log (vllm-cpu, this machine): `CPU KV cache size` one-line form and logo version", () => {
  assert.deepEqual(parseStartupLog(fixture("cpu_v0_32_real.log")), {
    ...base,
    server_up: true,
    version: "0.32.0",
    max_model_len: 4096,
    weights_load_s: 0.02,
    available_kv_gib: 1,
    kv_cache_tokens: 524288,
    max_concurrency_len: 4096,
    max_concurrency: 128,
    init_engine_s: 4.84,
    phases: [log("weights_load", 0.02), log("profile_kv_warmup", 4.84)],
  });
});

Deno.test("old fit error (`models's`) yields its numbers and the error lines", () => {
  const r = parseStartupLog(fixture("fit_error_old.log"));
  assert.deepEqual(r.fit_error, {
    max_model_len: 262144,
    needed_gib: 62,
    available_gib: 48.66,
    estimated_max_model_len: 205728,
    message: "To serve at least one request with the models's max seq len (262144), (62.00 GiB KV cache is " +
      "needed, which is larger than the available KV cache memory (48.66 GiB). Based on the available " +
      "memory, the estimated maximum model length is 205728. Try increasing `gpu_memory_utilization` or " +
      "decreasing `max_model_len` when initializing the engine.",
  });
  assert.equal(r.errors.length, 4);
  assert.match(r.errors[3], /Engine core initialization failed/);
  assert.equal(r.server_up, false);
});

Deno.test("new fit error (`model's`, CPU hint, docs link) yields its numbers", () => {
  const r = parseStartupLog(fixture("fit_error_new.log"));
  assert.deepEqual(
    { ...r.fit_error, message: undefined },
    {
      max_model_len: 1048576,
      needed_gib: 44.25,
      available_gib: 8.42,
      estimated_max_model_len: 199552,
      message: undefined,
    },
  );
  assert.match(r.fit_error!.message, /^To serve at least one request with the model's max seq len/);
  assert.match(r.fit_error!.message, /conserving_memory\/ for more details\.$/);
  assert.equal(r.errors.length, 1);
});

Deno.test("`No available memory for the cache blocks` is reported apart from the fit error", () => {
  assert.deepEqual(parseStartupLog(fixture("no_kv_memory.log")), {
    ...base,
    version: "0.11.0",
    max_model_len: 8192,
    available_kv_gib: -0.37,
    no_kv_memory: {
      message: "No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when " +
        "initializing the engine.",
    },
    errors: [
      "(EngineCore_DP0 pid=141) ERROR 10-10 09:00:30 [core.py:708] ValueError: No available memory for the " +
      "cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.",
    ],
  });
});

Deno.test("format variants: old server line, logo version, GB units, kv_cache_memory_bytes, CPU auto-set", () => {
  const r = parseStartupLog([
    "(APIServer pid=1) INFO 06-19 15:35:00 [api_utils.py:339]  ▄▄ ▄█ █     █     █ ▀▄▀ █  version 0.23.0",
    "INFO 03-13 08:56:39 [model_runner.py:1146] Model loading took 3.3414 GB and 0.742108 seconds",
    "(Worker pid=9) INFO 01-02 03:04:05 [gpu_worker.py:255] Initial free memory 70.1 GiB, reserved 4.00 GiB " +
    "memory for KV Cache as specified by kv_cache_memory_bytes config and skipped memory profiling.",
    "INFO 08-01 00:00:00 [cpu_worker.py:255] Auto set (3.5/31.28) GiB for KV cache on node 0, with 28 GiB " +
    "requested memory for the worker. 1.2 GiB memory was consumed by non-kv usages.",
    "(APIServer pid=1) INFO 02-01 00:00:00 [api_server.py:1880] Starting vLLM API server 0 on http://127.0.0.1:8000",
  ].join("\n"));
  assert.equal(r.version, "0.23.0");
  assert.equal(r.weights_gib, 3.3414);
  assert.equal(r.model_load_s, 0.742108);
  assert.equal(r.available_kv_gib, 3.5, "the smallest stated KV budget binds");
  assert.equal(r.server_up, true);
});

Deno.test("tensor-parallel ranks: slowest duration and smallest capacity win", () => {
  const r = parseStartupLog([
    "(Worker_TP0 pid=1) INFO 09-24 20:53:37 [monitor.py:34] torch.compile takes 142.25 s in total",
    "(Worker_TP1 pid=2) INFO 09-24 20:53:37 [monitor.py:34] torch.compile takes 147.63 s in total",
    "(EngineCore_DP0 pid=3) INFO 09-24 20:53:41 [kv_cache_utils.py:864] GPU KV cache size: 238,208 tokens",
    "(EngineCore_DP0 pid=3) INFO 09-24 20:53:41 [kv_cache_utils.py:868] Maximum concurrency for 32,768 tokens per request: 7.27x",
    "(EngineCore_DP0 pid=3) INFO 09-24 20:53:41 [kv_cache_utils.py:864] GPU KV cache size: 237,344 tokens",
    "(EngineCore_DP0 pid=3) INFO 09-24 20:53:41 [kv_cache_utils.py:868] Maximum concurrency for 32,768 tokens per request: 7.24x",
  ].join("\n"));
  assert.equal(r.compile_s, 147.63);
  assert.equal(r.kv_cache_tokens, 237344);
  assert.equal(r.max_concurrency, 7.24);
});

Deno.test("the sim's marker line sets simulated and the time scale; the parser is incremental", () => {
  const p = new StartupLogParser();
  p.feed(
    "INFO 01-01 00:00:00 [core.py:1] Initializing a V1 LLM engine (v0.11.0) with config: max_seq_len=2048",
  );
  assert.equal(p.report().simulated, false);
  assert.equal(p.report().max_model_len, 2048, "config max_seq_len is a fallback for the max len");
  p.feed("INFO 01-01 00:00:00 [sim.py:1] servelab-sim: startup phases are simulated (time scale 0.02)");
  p.feed("INFO 01-01 00:00:01 [core.py:1] Using max model len 4096");
  const r = p.report();
  assert.equal(r.simulated, true);
  assert.equal(r.startup_time_scale, 0.02);
  assert.equal(r.max_model_len, 4096, "the explicit line wins over the config fallback");
  assert.equal(r.version, "0.11.0");
});

Deno.test("errors keep only the last 50 error-looking lines and ignore ordinary INFO lines", () => {
  const p = new StartupLogParser();
  for (let i = 0; i < 60; i++) p.feed(`ERROR 01-01 00:00:00 [x.py:1] failure ${i}`);
  p.feed("INFO 01-01 00:00:00 [x.py:1] Error rate is fine, no ERRORS here");
  const r = p.report();
  assert.equal(r.errors.length, 50);
  assert.match(r.errors[0], /failure 10$/);
  assert.match(r.errors[49], /failure 59$/);
});
