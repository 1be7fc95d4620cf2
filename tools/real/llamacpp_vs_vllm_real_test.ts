/**
 * Real-engine test: the tiny model's GGUF (llama.cpp) and its safetensors folder (vLLM on CPU) are the same
 * model. Greedy completions of the same token-id prompts must be identical, which holds only when the GGUF
 * writer permutes Q and K as convert_hf_to_gguf does (docs/adr/0012-llamacpp-server.md).
 *
 * Runs when vLLM is installed: `SERVELAB_VLLM_BIN` (the `real` step sets it when it installs vLLM) or
 * `.servelab/vllm-venv/bin/vllm`; otherwise the test is reported as ignored.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { launch, parseServeConfig, tinyModelSpec, writeTinyModel } from "../../lib/mod.ts";
import { writeTinyGguf } from "../../lib/tinymodel/mod.ts";
import { installLlamaServer, startLlamaServer } from "./llamacpp_serve.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const VLLM = Deno.env.get("SERVELAB_VLLM_BIN") ??
  (existsSync(`${ROOT}/.servelab/vllm-venv/bin/vllm`) ? `${ROOT}/.servelab/vllm-venv/bin/vllm` : undefined);

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(300_000),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

Deno.test({
  name: "llama.cpp on the GGUF and vLLM on the safetensors folder give the same greedy text",
  ignore: VLLM === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "servelab-tiny-both-" });
    try {
      await compare(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Writes both forms of the model into `dir`, starts both engines, compares, stops both (on scope exit). */
async function compare(dir: string): Promise<void> {
  const spec = tinyModelSpec();
  await writeTinyModel(`${dir}/hf`, spec);
  await writeTinyGguf(`${dir}/tiny.gguf`, spec);
  const command = await installLlamaServer();
  await using llama = await startLlamaServer({ model_path: `${dir}/tiny.gguf`, command, parallel: 1 });
  await using vllm = await launch(
    parseServeConfig({
      engine: "vllm",
      model: `${dir}/hf`,
      served_model_name: llama.model,
      max_model_len: 2048,
      enforce_eager: true,
      dtype: "float32",
      env: { VLLM_CPU_KVCACHE_SPACE: "1" },
    }),
    { vllm_command: [VLLM!], log_dir: dir },
  );
  for (
    const text of [
      "the cache is warm and the",
      "Prefix caching reuses blocks",
      "hello world, this is a test of",
    ]
  ) {
    const ids = (await post(`${llama.baseUrl}/tokenize`, { content: text })).tokens as number[];
    const vllmIds = (await post(`${vllm.baseUrl}/tokenize`, {
      model: vllm.model,
      prompt: text,
      add_special_tokens: false,
    })).tokens as number[];
    assert.deepEqual(ids, vllmIds, `both tokenize ${JSON.stringify(text)} alike`);
    const body = { model: llama.model, prompt: ids, max_tokens: 16, temperature: 0, ignore_eos: true };
    const a = await post(`${vllm.baseUrl}/v1/completions`, body);
    const b = await post(`${llama.baseUrl}/v1/completions`, body);
    const textOf = (r: Record<string, unknown>) => (r.choices as { text: string }[])[0].text;
    assert.ok(textOf(a).length > 0);
    assert.equal(textOf(b), textOf(a), `greedy continuation of ${JSON.stringify(text)}`);
  }
}
