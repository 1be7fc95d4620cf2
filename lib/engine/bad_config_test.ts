// Impossible or unknown engine settings: each is refused with the input, the problem and the fix,
// before a vLLM process is spawned when the lab can tell, or from the engine's own error otherwise.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeConfig, type ServeConfigInput } from "./config.ts";
import { EngineStartError, launch } from "./launch.ts";
import { liveEngineCount } from "./registry.ts";

/** A vLLM command that cannot run: reaching the spawn would say "cannot run", so a check came first. */
const NO_VLLM = { vllm_command: ["/nonexistent/servelab-no-vllm"] };

Deno.test("tensor parallelism over more GPUs than are visible is refused before vLLM is spawned", async () => {
  const cfg = (env: Record<string, string>) =>
    parseServeConfig({ engine: "vllm", model: "m", tensor_parallel_size: 2, env });
  await assert.rejects(
    launch(cfg({ CUDA_VISIBLE_DEVICES: "0" }), NO_VLLM),
    /^Error: Cannot start engine: tensor_parallel_size 2 needs 2 GPUs, but CUDA_VISIBLE_DEVICES=0 shows 1\. Lower tensor_parallel_size \(--tensor-parallel-size\) to 1, or make 2 GPUs visible\.$/,
  );
  await assert.rejects(launch(cfg({ CUDA_VISIBLE_DEVICES: "" }), NO_VLLM), /shows 0\. Lower .* to 1/);
  // Enough GPUs: the check passes and launch goes on to the (missing) executable.
  await assert.rejects(launch(cfg({ CUDA_VISIBLE_DEVICES: "0,1" }), NO_VLLM), /cannot run '\/nonexistent/);

  // Without CUDA_VISIBLE_DEVICES the count comes from nvidia-smi -L (a fake one listing a single GPU).
  const bin = await Deno.makeTempDir({ prefix: "servelab-fake-smi-" });
  const path = Deno.env.get("PATH") ?? "";
  const visible = Deno.env.get("CUDA_VISIBLE_DEVICES");
  try {
    const smi = join(bin, "nvidia-smi");
    await Deno.writeTextFile(smi, "#!/bin/sh\necho 'GPU 0: NVIDIA L4 (UUID: GPU-0000)'\n");
    await Deno.chmod(smi, 0o755);
    Deno.env.set("PATH", `${bin}:${path}`);
    Deno.env.delete("CUDA_VISIBLE_DEVICES");
    await assert.rejects(launch(cfg({}), NO_VLLM), /needs 2 GPUs, but nvidia-smi -L shows 1\./);
  } finally {
    Deno.env.set("PATH", path);
    if (visible !== undefined) Deno.env.set("CUDA_VISIBLE_DEVICES", visible);
    await Deno.remove(bin, { recursive: true });
  }
  assert.equal(liveEngineCount(), 0);
});

Deno.test("out-of-range and non-numeric settings name the field", () => {
  const bad: [ServeConfigInput, RegExp][] = [
    [{ model: "m", gpu_memory_utilization: 1.5 }, /ServeConfig\.gpu_memory_utilization: .*<=1/],
    [{ model: "m", gpu_memory_utilization: 0 }, /ServeConfig\.gpu_memory_utilization: .*>0/],
    [{ model: "m", max_model_len: -1 }, /ServeConfig\.max_model_len/],
    [{ model: "m", tensor_parallel_size: 0 }, /ServeConfig\.tensor_parallel_size/],
    [{ model: "m", max_num_seqs: "many" as unknown as number }, /ServeConfig\.max_num_seqs: .*number/],
  ];
  for (const [input, msg] of bad) assert.throws(() => parseServeConfig(input), msg);
});

async function simStartError(extra: Partial<ServeConfigInput>): Promise<EngineStartError> {
  const err = await launch(parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", ...extra }))
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineStartError, String(err));
  return err;
}

Deno.test("an unknown model or GPU profile, or a length above the model's, fails the start with the known values or the fix", async () => {
  const model = await simStartError({ model: "acme/NoSuchModel-7B" });
  assert.match(
    model.message,
    /Unknown model 'acme\/NoSuchModel-7B'.*Known models: .*Qwen\/Qwen2\.5-1\.5B-Instruct/,
  );
  assert.match(model.message, /Use one of them .*or add data\/models\/acme--NoSuchModel-7B\.json/);

  const gpu = await simStartError({ sim: { gpu: "B300" } });
  assert.match(gpu.message, /Unknown GPU profile 'B300'\. Known profiles: .*H100-80GB.*Use one of them/);

  const long = await simStartError({ max_model_len: 1_000_000 });
  assert.match(long.message, /max_model_len \(1000000\) is greater than the derived max_model_len/);
  assert.match(long.message, /set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1/);
  assert.equal(liveEngineCount(), 0);
});
