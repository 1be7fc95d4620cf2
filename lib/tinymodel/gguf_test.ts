import assert from "node:assert/strict";
import { encodeGguf, GGUF_VALUE_TYPE, type GgufValue, parseGguf, readGgufTensorF32 } from "./gguf.ts";
import { tinyModelSpec } from "./spec.ts";
import { tinyTensors } from "./tensors.ts";
import { ggufTensorName, permuteQK, tinyGgufBytes, tinyGgufMetadata, writeTinyGguf } from "./tiny_gguf.ts";
import { TINY_SPECIAL_TOKENS, tinyTokenizer } from "./tokenizer.ts";

Deno.test("gguf: header, typed key-values, tensor infos and 32-byte aligned data read back", () => {
  const meta = new Map<string, GgufValue>([
    ["a.u32", { kind: "uint32", value: 7 }],
    ["a.f32", { kind: "float32", value: 0.5 }],
    ["a.bool", { kind: "bool", value: true }],
    ["a.str", { kind: "string", value: "héllo" }],
    ["a.i64", { kind: "int64", value: -3 }],
    ["a.arr", { kind: "array", item: "string", values: ["x", "", "Ġthe"] }],
    ["a.ints", { kind: "array", item: "int32", values: [1, -1, 3] }],
  ]);
  const a = new Float32Array([1, 2, 3, 4, 5, 6]);
  const b = new Float32Array([-0.25]);
  const bytes = encodeGguf(meta, [{ name: "a", shape: [2, 3], data: a }, { name: "b", shape: [1], data: b }]);
  const view = new DataView(bytes.buffer);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "GGUF");
  assert.equal(view.getUint32(4, true), 3);
  assert.equal(view.getBigUint64(8, true), 2n);
  assert.equal(view.getBigUint64(16, true), 7n);
  // The first key: u64 length, the bytes, then the value type.
  assert.equal(view.getBigUint64(24, true), 5n);
  assert.equal(new TextDecoder().decode(bytes.subarray(32, 37)), "a.u32");
  assert.equal(view.getUint32(37, true), GGUF_VALUE_TYPE.uint32);

  const file = parseGguf(bytes);
  assert.equal(file.version, 3);
  assert.equal(file.alignment, 32);
  assert.deepEqual([...file.metadata], [...meta]);
  assert.deepEqual(file.tensors, [
    { name: "a", dims: [3, 2], type: 0, offset: 0 }, // ne: fastest dimension first
    { name: "b", dims: [1], type: 0, offset: 32 }, // 24 bytes, padded to 32
  ]);
  assert.equal(file.data_start % 32, 0);
  assert.equal(bytes.length, file.data_start + 64); // the last tensor is padded too (llama.cpp reads it so)
  assert.deepEqual([...readGgufTensorF32(bytes, file, "a")], [...a]);
  assert.deepEqual([...readGgufTensorF32(bytes, file, "b")], [...b]);
});

Deno.test("gguf: a truncated file and a wrong magic are refused, naming the problem", () => {
  const bytes = encodeGguf(new Map([["k", { kind: "string", value: "v" }]]), [
    { name: "w", shape: [4], data: new Float32Array(4) },
  ]);
  assert.throws(() => parseGguf(bytes.subarray(0, 30)), /truncated/);
  assert.throws(() => parseGguf(bytes.subarray(0, bytes.length - 40)), /Tensor w ends at byte \d+, past/i);
  const bad = bytes.slice();
  bad[0] = 0x58;
  assert.throws(() => parseGguf(bad), /not the magic "GGUF"/);
  assert.throws(
    () => encodeGguf(new Map(), [{ name: "w", shape: [3], data: new Float32Array(2) }]),
    /Tensor w has shape \[3\]/,
  );
});

Deno.test("gguf: permuteQK interleaves each head's two RoPE halves, as convert_hf_to_gguf does", () => {
  // Two heads of head_dim 4, two input columns: row r holds [10r, 10r+1].
  const rows = 8, cols = 2;
  const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.floor(i / cols) * 10 + (i % cols));
  const out = permuteQK(data, 2, cols);
  const rowOf = (arr: Float32Array, r: number) => [arr[r * cols], arr[r * cols + 1]];
  // Head 0: old rows [0 1 | 2 3] -> [0 2 1 3]; head 1: [4 5 | 6 7] -> [4 6 5 7].
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map((r) => rowOf(out, r)[0] / 10), [0, 2, 1, 3, 4, 6, 5, 7]);
  assert.deepEqual(rowOf(out, 1), [20, 21]);
  assert.throws(() => permuteQK(new Float32Array(6), 1, 2), /head_dim must be even/);
});

Deno.test("tiny gguf: llama metadata, gpt2 tokenizer and every HF tensor under its GGUF name", () => {
  const spec = tinyModelSpec({ seed: 5 });
  const bytes = tinyGgufBytes(spec);
  const file = parseGguf(bytes);
  const get = (k: string) => {
    const v = file.metadata.get(k);
    assert.ok(v, `missing ${k}`);
    return v.kind === "array" ? v.values : v.value;
  };
  assert.equal(get("general.architecture"), "llama");
  assert.equal(get("llama.context_length"), spec.max_position_embeddings);
  assert.equal(get("llama.embedding_length"), spec.hidden_size);
  assert.equal(get("llama.block_count"), spec.num_hidden_layers);
  assert.equal(get("llama.feed_forward_length"), spec.intermediate_size);
  assert.equal(get("llama.attention.head_count"), spec.num_attention_heads);
  assert.equal(get("llama.attention.head_count_kv"), spec.num_key_value_heads);
  assert.equal(get("llama.rope.dimension_count"), 64);
  assert.ok(Math.abs((get("llama.attention.layer_norm_rms_epsilon") as number) - spec.rms_norm_eps) < 1e-9);
  const tok = tinyTokenizer(spec);
  assert.equal(get("tokenizer.ggml.model"), "gpt2");
  assert.equal(get("tokenizer.ggml.pre"), "gpt-2");
  assert.deepEqual(get("tokenizer.ggml.tokens"), tok.tokens);
  assert.deepEqual(get("tokenizer.ggml.merges"), tok.merges);
  const types = get("tokenizer.ggml.token_type") as number[];
  assert.equal(types.length, spec.vocab_size);
  assert.deepEqual(types.slice(-TINY_SPECIAL_TOKENS.length), [3, 3, 3]);
  assert.ok(types.slice(0, -TINY_SPECIAL_TOKENS.length).every((t) => t === 1));
  assert.equal(get("tokenizer.ggml.eos_token_id"), tok.special.eos_id);
  assert.equal(get("tokenizer.ggml.bos_token_id"), tok.special.bos_id);

  const hf = tinyTensors(spec);
  assert.deepEqual(file.tensors.map((t) => t.name), hf.map((t) => ggufTensorName(t.name)));
  assert.ok(file.tensors.every((t) => t.type === 0 && t.offset % 32 === 0));
  const info = (n: string) => file.tensors.find((t) => t.name === n)!;
  assert.deepEqual(info("token_embd.weight").dims, [spec.hidden_size, spec.vocab_size]);
  assert.deepEqual(info("blk.0.attn_k.weight").dims, [spec.hidden_size, spec.num_key_value_heads * 64]);
  assert.deepEqual(info("blk.1.ffn_down.weight").dims, [spec.intermediate_size, spec.hidden_size]);
  assert.deepEqual(info("output.weight").dims, [spec.hidden_size, spec.vocab_size]);
  // Unpermuted tensors are the HF bytes; Q and K are the HF rows, permuted.
  const hfOf = (n: string) => hf.find((t) => t.name === n)!;
  assert.deepEqual(
    readGgufTensorF32(bytes, file, "blk.1.ffn_up.weight"),
    hfOf("model.layers.1.mlp.up_proj.weight").data,
  );
  const q = hfOf("model.layers.0.self_attn.q_proj.weight");
  assert.deepEqual(readGgufTensorF32(bytes, file, "blk.0.attn_q.weight"), permuteQK(q.data, 4, q.shape[1]));
  assert.notDeepEqual(readGgufTensorF32(bytes, file, "blk.0.attn_q.weight"), q.data);
});

Deno.test("tiny gguf: the same spec writes the same bytes; names outside the llama map are refused", async () => {
  const spec = tinyModelSpec({ seed: 2, num_hidden_layers: 1, vocab_size: 300 });
  const dir = await Deno.makeTempDir();
  try {
    const n = await writeTinyGguf(`${dir}/sub/tiny.gguf`, spec);
    const written = await Deno.readFile(`${dir}/sub/tiny.gguf`);
    assert.equal(written.length, n);
    assert.deepEqual(written, tinyGgufBytes(spec));
    assert.notDeepEqual(
      written,
      tinyGgufBytes(tinyModelSpec({ seed: 3, num_hidden_layers: 1, vocab_size: 300 })),
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["tiny.gguf"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(tinyGgufMetadata(spec).get("llama.block_count")?.kind, "uint32");
  assert.throws(() => ggufTensorName("model.layers.0.self_attn.rotary_emb.inv_freq"), /no GGUF name/);
});
