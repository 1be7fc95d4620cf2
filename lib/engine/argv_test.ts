import assert from "node:assert/strict";
import { buildServeArgs, parseServeArgs } from "./argv.ts";
import { parseServeConfig } from "./config.ts";

Deno.test("buildServeArgs and parseServeArgs round-trip a full config", () => {
  const cfg = parseServeConfig({
    engine: "sim",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    max_model_len: 4096,
    enable_prefix_caching: false,
    gpu_memory_utilization: 0.85,
    max_num_seqs: 64,
    block_size: 16,
    enforce_eager: true,
    port: 8123,
    sim: { gpu: "L4", faults: { crash_after_requests: 3, http_500_rate: 0.1 } },
  });
  const args = buildServeArgs(cfg);
  assert.equal(args[0], "Qwen/Qwen2.5-1.5B-Instruct");
  assert.ok(args.includes("--no-enable-prefix-caching"));
  assert.ok(args.includes("--enforce-eager"));
  assert.deepEqual(parseServeArgs(args, "sim"), cfg);
});

Deno.test("vllm args carry no sim flags and no api key", () => {
  const args = buildServeArgs(
    parseServeConfig({ engine: "vllm", model: "m", port: 9000, api_key_env: "MY_KEY" }),
  );
  assert.ok(!args.some((a) => a.startsWith("--sim-")));
  assert.ok(!args.some((a) => a.includes("api-key")));
  assert.deepEqual(args.slice(-4), ["--host", "127.0.0.1", "--port", "9000"]);
});

Deno.test("parseServeArgs keeps unknown flags and rejects non-loopback hosts and bad numbers", () => {
  const c = parseServeArgs(["m", "--max-model-len=2048", "--trust-remote-code", "--swap-space", "4"]);
  assert.equal(c.max_model_len, 2048);
  assert.deepEqual(c.extra_args, ["--trust-remote-code", "--swap-space", "4"]);
  assert.throws(() => parseServeArgs(["m", "--host", "0.0.0.0"]), /127\.0\.0\.1/);
  assert.throws(
    () => parseServeArgs(["m", "--max-model-len", "4k"]),
    /--max-model-len needs an integer, got '4k'/,
  );
});

Deno.test("parseServeConfig names the field and the fix", () => {
  assert.throws(
    () => parseServeConfig({ engine: "external", model: "m" }),
    /ServeConfig\.url: engine 'external' needs url/,
  );
  assert.throws(
    () => parseServeConfig({ model: "m", gpu_memory_utilization: 1.5 }),
    /gpu_memory_utilization/,
  );
});
