import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeConfig } from "../engine/config.ts";
import { readManifest, redactSecrets, sanitizeConfig } from "./manifest.ts";
import { gpuInfo, sysfsChoice } from "./host.ts";
import { createRun, finishRun, newRunId, openRun, recordEngine } from "./run_dir.ts";

const SECRET = "sk-servelab-test-5d1f0c2e9a";

Deno.test("the manifest never contains the API key value, only its variable name", async () => {
  const root = await Deno.makeTempDir();
  Deno.env.set("SERVELAB_TEST_API_KEY", SECRET);
  try {
    const config = parseServeConfig({
      engine: "vllm",
      model: "Qwen/Qwen2.5-1.5B-Instruct",
      api_key_env: "SERVELAB_TEST_API_KEY",
      extra_args: ["--api-key", SECRET, "--hf-token=" + SECRET, "--max-logprobs", "5"],
      env: { HF_TOKEN: "hf_abcdefghijk", VLLM_LOGGING_LEVEL: "DEBUG" },
    });
    const run = await createRun({ engine: "vllm", root, config, params: { note: `key is ${SECRET}` } });
    await recordEngine(run, "ttft", config, "0.11.0");
    const text = await Deno.readTextFile(run.manifestPath);
    assert.ok(!text.includes(SECRET), "secret value leaked into manifest.json");
    assert.ok(!text.includes("hf_abcdefghijk"), "HF token leaked into manifest.json");
    assert.ok(text.includes("SERVELAB_TEST_API_KEY"));
    const m = await readManifest(run.manifestPath);
    assert.equal(m.model, "Qwen/Qwen2.5-1.5B-Instruct");
    assert.deepEqual(m.config?.extra_args, [
      "--api-key",
      "<redacted>",
      "--hf-token=<redacted>",
      "--max-logprobs",
      "5",
    ]);
    assert.deepEqual(m.config?.env, { HF_TOKEN: "<redacted>", VLLM_LOGGING_LEVEL: "DEBUG" });
    assert.equal(m.engines.length, 1);
    assert.equal(m.engine.version, "0.11.0");
    assert.deepEqual(m.seeds, { engine: 0, ttft: 0 });
  } finally {
    Deno.env.delete("SERVELAB_TEST_API_KEY");
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("createRun writes a readable manifest with host, code and times; finishRun closes it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-0.5B-Instruct", seed: 7 });
    const run = await createRun({ engine: "sim", root, config, params: { size: "test" } });
    assert.match(run.id, /^\d{8}-\d{6}-sim-[0-9a-f]{4}$/);
    for (const d of [run.pointsDir, run.logsDir]) assert.ok((await Deno.stat(d)).isDirectory);
    const m = await readManifest(run.manifestPath);
    assert.equal(m.status, "running");
    assert.equal(m.sim_profile, config.sim.gpu);
    assert.deepEqual(m.seeds, { engine: 7 });
    assert.ok(m.host.cores >= 1);
    assert.equal(m.host.arch, Deno.build.arch);
    assert.equal(m.deno_version, Deno.version.deno);
    assert.match(m.servelab.version, /^\d+\.\d+\.\d+/);
    await assert.rejects(() => createRun({ engine: "sim", root, id: run.id }), /already exists; use openRun/);
    const again = await openRun(run.id, { root });
    assert.equal(again.dir, run.dir);
    const done = await finishRun(again, "complete");
    assert.equal(done.status, "complete");
    assert.ok(Date.parse(done.ended_at!) >= Date.parse(done.started_at));
    await assert.rejects(() => openRun("nope", { root }), /Cannot open run 'nope'/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readManifest names the file and the bad field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "manifest.json");
    await Deno.writeTextFile(p, JSON.stringify({ schema_version: 1, run_id: "x", status: "done" }));
    await assert.rejects(() => readManifest(p), /Invalid manifest .*manifest\.json:\n.*status/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run ids sort by UTC start time and carry the engine", () => {
  const a = newRunId("sim", new Date("2026-11-28T09:05:03Z"));
  const b = newRunId("vLLM", new Date("2026-11-28T10:00:00Z"));
  assert.match(a, /^20261128-090503-sim-[0-9a-f]{4}$/);
  assert.match(b, /^20261128-100000-vllm-/);
  assert.ok(a < b);
});

Deno.test("sanitizeConfig and redactSecrets leave ordinary values alone", () => {
  const cfg = parseServeConfig({ engine: "sim", model: "m", extra_args: ["--max-logprobs", "5"] });
  assert.deepEqual(sanitizeConfig(cfg), { ...cfg });
  assert.deepEqual(redactSecrets({ a: ["xsecretx", 3] }, ["secret"]), { a: ["x<redacted>x", 3] });
});

Deno.test("host probes parse sysfs choices and nvidia-smi rows", () => {
  assert.equal(sysfsChoice("always [madvise] never\n"), "madvise");
  assert.equal(sysfsChoice(undefined), undefined);
  const smi = (out: string) => ({
    run: () => Promise.resolve({ code: 0, stdout: out, stderr: "" }),
  });
  return (async () => {
    assert.deepEqual(
      await gpuInfo(
        smi(
          "0, NVIDIA H100 80GB HBM3, GPU-a, 81559, 10, 0, 550.54.15\n1, NVIDIA L4, GPU-b, 23034, 5, 0, 550.54.15\n",
        ),
      ),
      {
        kind: "nvidia",
        driver_version: "550.54.15",
        devices: [{ name: "NVIDIA H100 80GB HBM3", memory_mib: 81559 }, {
          name: "NVIDIA L4",
          memory_mib: 23034,
        }],
      },
    );
    assert.deepEqual(
      await gpuInfo({ run: () => Promise.resolve({ code: 9, stdout: "", stderr: "no devices" }) }),
      { kind: "none" },
    );
  })();
});
