import assert from "node:assert/strict";
import {
  catalogFileName,
  GpuSpec,
  listGpus,
  listModels,
  loadGpu,
  loadModel,
  modelFromHfConfig,
  ModelSpec,
  paramCountFromShape,
} from "./catalog.ts";

const MODELS = [
  "Qwen/Qwen2.5-0.5B-Instruct",
  "Qwen/Qwen2.5-1.5B-Instruct",
  "Qwen/Qwen2.5-3B-Instruct",
  "microsoft/Phi-3-mini-4k-instruct",
  "meta-llama/Llama-3.2-1B-Instruct",
  "meta-llama/Llama-3.2-3B-Instruct",
  "meta-llama/Llama-3.1-8B-Instruct",
  "Qwen/Qwen3-0.6B",
  "Qwen/Qwen3-1.7B",
  "Qwen/Qwen3-4B",
  "Qwen/Qwen3-14B",
  "servelab/tiny-llama",
];
const GPUS = [
  "H100-80GB",
  "H200",
  "A100-80GB",
  "L40S",
  "L4",
  "A10G",
  "T4",
  "RTX-4090",
  "cpu",
  "cpu-calibrated",
];

Deno.test("the catalogs hold every model and device profile of the design", () => {
  assert.deepEqual(listModels(), [...MODELS].sort());
  assert.deepEqual(listGpus(), [...GPUS].sort());
});

Deno.test("each catalogued parameter count equals the count of its shape", () => {
  for (const id of listModels()) {
    const m = loadModel(id);
    assert.equal(m.param_count, paramCountFromShape(m), id);
  }
});

Deno.test("model shapes are consistent: heads x head_dim matches hidden size unless the config sets head_dim", () => {
  for (const id of listModels()) {
    const m = loadModel(id);
    // Qwen3-4B sets head_dim 128 with 32 heads over a hidden size of 2560: a decoupled head_dim needs its source.
    if (m.num_heads * m.head_dim !== m.hidden_size) {
      assert.match(m.sources.head_dim, /kv-channels|head_dim/, id);
    } else assert.equal(m.num_heads * m.head_dim, m.hidden_size, id);
  }
});

Deno.test("catalog files are named after the sanitized id", () => {
  for (const id of listModels()) {
    const url = new URL(`../../data/models/${catalogFileName(id)}`, import.meta.url);
    assert.ok(Deno.statSync(url).isFile, `${id} -> ${url.pathname}`);
  }
  assert.equal(catalogFileName("Qwen/Qwen2.5-1.5B-Instruct"), "Qwen--Qwen2.5-1.5B-Instruct.json");
});

Deno.test("loadModel accepts the HF id, the name after the slash and an alias, in any case", () => {
  const id = "Qwen/Qwen2.5-1.5B-Instruct";
  for (const key of [id, "qwen/qwen2.5-1.5b-instruct", "Qwen2.5-1.5B-Instruct", "qwen2.5-1.5b"]) {
    assert.equal(loadModel(key).id, id, key);
  }
  assert.equal(loadModel("tiny").id, "servelab/tiny-llama");
  assert.equal(loadGpu("h100").name, "H100-80GB");
  assert.equal(loadGpu("NVIDIA A100-SXM4-80GB").name, "A100-80GB");
});

Deno.test("an unknown model or GPU error names the input and lists the known ones", () => {
  assert.throws(() => loadModel("acme/NoSuchModel-7B"), (e: Error) => {
    assert.match(e.message, /Unknown model 'acme\/NoSuchModel-7B'/);
    for (const id of MODELS) assert.ok(e.message.includes(id), `lists ${id}`);
    assert.match(e.message, /data\/models\/acme--NoSuchModel-7B\.json/);
    return true;
  });
  assert.throws(() => loadGpu("B300"), (e: Error) => {
    assert.match(e.message, /Unknown GPU profile 'B300'/);
    for (const g of GPUS) assert.ok(e.message.includes(g), `lists ${g}`);
    return true;
  });
});

Deno.test("the schemas refuse a number without a source", () => {
  const m = structuredClone(loadModel("qwen2.5-1.5b"));
  delete m.sources.num_kv_heads;
  const r = ModelSpec.safeParse(m);
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error?.issues), /missing the source of num_kv_heads/);
  const g = structuredClone(loadGpu("H100-80GB"));
  delete g.sources.mem_bandwidth_bytes_s;
  assert.equal(GpuSpec.safeParse(g).success, false);
});

Deno.test("the cpu profile is a 2-core, 24 GiB host of kind cpu", () => {
  const cpu = loadGpu("cpu");
  assert.equal(cpu.kind, "cpu");
  assert.equal(cpu.memory_bytes, 24 * 2 ** 30);
  assert.ok(cpu.bf16_flops >= 1e11 && cpu.bf16_flops < 1e12, "a few hundred GFLOP/s");
  for (const name of GPUS.filter((g) => !g.startsWith("cpu"))) assert.equal(loadGpu(name).kind, "gpu", name);
});

Deno.test("modelFromHfConfig reads an HF config.json and matches the catalogued tiny model", () => {
  const tiny = loadModel("tiny");
  const config = {
    architectures: ["LlamaForCausalLM"],
    num_hidden_layers: 2,
    hidden_size: 128,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    intermediate_size: 256,
    vocab_size: 32000,
    max_position_embeddings: 32768,
    tie_word_embeddings: false,
    torch_dtype: "bfloat16",
  };
  const m = modelFromHfConfig(config, "./tiny");
  assert.equal(m.head_dim, 64);
  assert.equal(m.param_count, tiny.param_count);
  assert.equal(m.dtype_bytes, 2);
  assert.throws(
    () => modelFromHfConfig({ hidden_size: 128 }, "./broken"),
    /Cannot use \.\/broken\/config\.json/,
  );
});

Deno.test("loadModel reads a local model directory with a config.json", () => {
  const dir = Deno.makeTempDirSync({ prefix: "servelab-model-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/config.json`,
      JSON.stringify({
        num_hidden_layers: 4,
        hidden_size: 256,
        num_attention_heads: 4,
        num_key_value_heads: 1,
        intermediate_size: 512,
        vocab_size: 1000,
        max_position_embeddings: 2048,
        model_type: "qwen2",
      }),
    );
    const m = loadModel(dir);
    assert.equal(m.id, dir);
    assert.equal(m.num_kv_heads, 1);
    assert.equal(m.qkv_bias, true, "qwen2 configs have q/k/v bias");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
