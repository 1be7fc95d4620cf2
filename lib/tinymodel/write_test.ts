import assert from "node:assert/strict";
import { parseSafetensors, readTensorF32 } from "./safetensors.ts";
import { tinyModelSpec } from "./spec.ts";
import { tinyTensors } from "./tensors.ts";
import { tinyModelFiles, writeTinyModel } from "./write.ts";

const spec = tinyModelSpec({ seed: 3 });

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("tiny model: the written folder's safetensors matches config.json's shapes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await writeTinyModel(dir, spec);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
    assert.equal(config.head_dim, 64);
    assert.equal(config.hidden_size, config.num_attention_heads * config.head_dim);
    const bytes = await Deno.readFile(`${dir}/model.safetensors`);
    const file = parseSafetensors(bytes);
    const shape = (n: string) => file.entries.find((e) => e.name === n)?.shape;
    const H = config.hidden_size, hd = config.head_dim;
    assert.deepEqual(shape("model.embed_tokens.weight"), [config.vocab_size, H]);
    assert.deepEqual(shape("lm_head.weight"), [config.vocab_size, H]);
    for (let l = 0; l < config.num_hidden_layers; l++) {
      assert.deepEqual(shape(`model.layers.${l}.self_attn.q_proj.weight`), [
        config.num_attention_heads * hd,
        H,
      ]);
      assert.deepEqual(shape(`model.layers.${l}.self_attn.k_proj.weight`), [
        config.num_key_value_heads * hd,
        H,
      ]);
      assert.deepEqual(shape(`model.layers.${l}.mlp.down_proj.weight`), [H, config.intermediate_size]);
    }
    assert.equal(file.entries.length, 3 + 9 * config.num_hidden_layers);
    assert.ok(file.entries.every((e) => e.dtype === "F32"));
    assert.equal(config.torch_dtype, "float32");
    assert.equal(file.metadata.servelab_parameters, String(out.parameters));
    assert.deepEqual(readTensorF32(bytes, "model.norm.weight"), new Float32Array(H).fill(1));
    // Silenced tokens' lm_head rows are zero (specials, lone high bytes); the others have lm_head_std.
    const head = readTensorF32(bytes, "lm_head.weight");
    const row = (id: number) => head.subarray(id * H, (id + 1) * H);
    for (const id of [0x00, 0x80, 0xff, config.vocab_size - 3, config.vocab_size - 1]) {
      assert.ok(row(id).every((v) => v === 0), `row ${id}`);
    }
    const body = head.subarray(300 * H, (config.vocab_size - 3) * H);
    const sd = Math.sqrt(body.reduce((s, v) => s + v * v, 0) / body.length);
    assert.ok(Math.abs(sd - spec.lm_head_std) < 0.02, `sd ${sd}`);
    assert.ok(row("a".charCodeAt(0)).some((v) => v !== 0) && row(0x0a).some((v) => v !== 0));
    const embed = readTensorF32(bytes, "model.embed_tokens.weight");
    const esd = Math.sqrt(embed.reduce((s, v) => s + v * v, 0) / embed.length);
    assert.ok(Math.abs(esd - spec.initializer_range) < 0.002, `embedding sd ${esd}`);
    const gen = JSON.parse(await Deno.readTextFile(`${dir}/generation_config.json`));
    assert.ok(gen.eos_token_id.includes(config.eos_token_id));
    const tokCfg = JSON.parse(await Deno.readTextFile(`${dir}/tokenizer_config.json`));
    assert.equal(tokCfg.model_max_length, config.max_position_embeddings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tiny model: the same seed gives the same bytes, another seed other weights", async () => {
  const a = tinyModelFiles(spec);
  const b = tinyModelFiles(tinyModelSpec({ seed: 3 }));
  for (const name of Object.keys(a)) assert.equal(await sha256(a[name]), await sha256(b[name]), name);
  const c = tinyModelFiles(tinyModelSpec({ seed: 4 }));
  assert.notEqual(await sha256(a["model.safetensors"]), await sha256(c["model.safetensors"]));
  assert.equal(await sha256(a["tokenizer.json"]), await sha256(c["tokenizer.json"]));
});

Deno.test("tiny model: inconsistent head counts are refused, naming the fields", () => {
  assert.throws(() => tinyModelSpec({ num_attention_heads: 3 }), /hidden_size 256 is not a multiple/);
  assert.throws(() => tinyModelSpec({ num_key_value_heads: 3 }), /num_attention_heads 4 is not a multiple/);
  assert.throws(() => tinyModelSpec({ vocab_size: 10 }), /vocab_size/);
  assert.equal(tinyTensors(tinyModelSpec({ num_hidden_layers: 1 })).length, 12);
});
