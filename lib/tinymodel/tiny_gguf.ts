/**
 * The tiny model as one GGUF file for llama.cpp (`llama-server -m tiny.gguf`): the same weights as the
 * safetensors folder, renamed to GGUF's llama names, the tokenizer as GGUF's `gpt2` byte-level BPE, and the
 * llama hyper-parameters as metadata, all F32.
 *
 * Q/K permutation: Hugging Face's Llama applies RoPE to the two halves of each head (`rotate_half`), ggml's
 * llama architecture to adjacent pairs. llama.cpp's `convert_hf_to_gguf.py` therefore reorders the rows of
 * `q_proj` and `k_proj` within each head (`permute`: reshape to (heads, 2, head_dim/2, in), swap the middle
 * axes). This writer does the same, so the GGUF file computes the same function as the safetensors folder
 * (random weights would load either way, but then llama.cpp and vLLM would serve different models).
 * @module
 */
import { encodeGguf, type GgufTensor, type GgufValue } from "./gguf.ts";
import { headDim, type TinyModelSpec } from "./spec.ts";
import { tinyTensors } from "./tensors.ts";
import { TINY_CHAT_TEMPLATE, TINY_SPECIAL_TOKENS, tinyTokenizer } from "./tokenizer.ts";

/** GGUF token types (llama.cpp's `llama_token_type`): 1 normal, 3 control. */
const TOKEN_TYPE = { normal: 1, control: 3 } as const;

/**
 * The GGUF name of a Hugging Face Llama parameter (llama.cpp's tensor map for `LlamaForCausalLM`).
 *
 * @example
 * ```ts
 * ggufTensorName("model.layers.1.self_attn.q_proj.weight"); // "blk.1.attn_q.weight"
 * ```
 */
export function ggufTensorName(hfName: string): string {
  const fixed: Record<string, string> = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
  };
  if (hfName in fixed) return fixed[hfName];
  const m = hfName.match(/^model\.layers\.(\d+)\.(.+)\.weight$/);
  const layer: Record<string, string> = {
    "input_layernorm": "attn_norm",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
  };
  if (!m || !(m[2] in layer)) {
    throw new RangeError(
      `Tensor ${hfName} has no GGUF name in the llama map; only Llama parameters (${
        Object.keys(layer).join(", ")
      }, embeddings, final norm, lm_head) are converted.`,
    );
  }
  return `blk.${m[1]}.${layer[m[2]]}.weight`;
}

/**
 * convert_hf_to_gguf's `permute` of a Q or K weight ([heads x head_dim, in], row-major): within each head,
 * row `j * head_dim/2 + i` (half j, pair i) moves to row `2i + j`.
 *
 * @example
 * ```ts
 * // one head of head_dim 4, one input column: rows [a0 a1 b0 b1] -> [a0 b0 a1 b1]
 * permuteQK(new Float32Array([1, 2, 3, 4]), 1, 1); // Float32Array [1, 3, 2, 4]
 * ```
 */
export function permuteQK(data: Float32Array, heads: number, cols: number): Float32Array {
  const rows = data.length / cols;
  const hd = rows / heads;
  if (!Number.isInteger(rows) || !Number.isInteger(hd) || hd % 2 !== 0) {
    throw new RangeError(
      `Cannot permute a ${data.length}-value weight as ${heads} heads x ${cols} columns: head_dim must be even.`,
    );
  }
  const half = hd / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < half; i++) {
        const from = (h * hd + j * half + i) * cols;
        out.set(data.subarray(from, from + cols), (h * hd + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

/**
 * The GGUF metadata of the tiny model: llama hyper-parameters and the `gpt2` tokenizer.
 *
 * @example
 * ```ts
 * tinyGgufMetadata(tinyModelSpec()).get("llama.rope.dimension_count"); // { kind: "uint32", value: 64 }
 * ```
 */
export function tinyGgufMetadata(spec: TinyModelSpec): Map<string, GgufValue> {
  const tok = tinyTokenizer(spec);
  const u32 = (value: number): GgufValue => ({ kind: "uint32", value });
  const f32 = (value: number): GgufValue => ({ kind: "float32", value });
  const str = (value: string): GgufValue => ({ kind: "string", value });
  const special = new Set<string>(TINY_SPECIAL_TOKENS);
  return new Map<string, GgufValue>([
    ["general.architecture", str("llama")],
    ["general.name", str(spec.name)],
    ["general.alignment", u32(32)],
    ["general.file_type", u32(0)], // LLAMA_FTYPE_ALL_F32
    ["llama.context_length", u32(spec.max_position_embeddings)],
    ["llama.embedding_length", u32(spec.hidden_size)],
    ["llama.block_count", u32(spec.num_hidden_layers)],
    ["llama.feed_forward_length", u32(spec.intermediate_size)],
    ["llama.attention.head_count", u32(spec.num_attention_heads)],
    ["llama.attention.head_count_kv", u32(spec.num_key_value_heads)],
    ["llama.rope.dimension_count", u32(headDim(spec))],
    ["llama.rope.freq_base", f32(spec.rope_theta)],
    ["llama.attention.layer_norm_rms_epsilon", f32(spec.rms_norm_eps)],
    ["llama.vocab_size", u32(spec.vocab_size)],
    ["tokenizer.ggml.model", str("gpt2")],
    // "gpt-2": llama.cpp's pre-tokenizer with GPT-2's regex, the one the lab's tokenizer learned with.
    ["tokenizer.ggml.pre", str("gpt-2")],
    ["tokenizer.ggml.tokens", { kind: "array", item: "string", values: tok.tokens }],
    ["tokenizer.ggml.token_type", {
      kind: "array",
      item: "int32",
      values: tok.tokens.map((t) => special.has(t) ? TOKEN_TYPE.control : TOKEN_TYPE.normal),
    }],
    ["tokenizer.ggml.merges", { kind: "array", item: "string", values: tok.merges }],
    ["tokenizer.ggml.bos_token_id", u32(tok.special.bos_id)],
    ["tokenizer.ggml.eos_token_id", u32(tok.special.eos_id)],
    ["tokenizer.ggml.padding_token_id", u32(tok.special.pad_id)],
    ["tokenizer.ggml.add_bos_token", { kind: "bool", value: false }],
    ["tokenizer.ggml.add_eos_token", { kind: "bool", value: false }],
    ["tokenizer.chat_template", str(TINY_CHAT_TEMPLATE)],
  ]);
}

/**
 * The tiny model's tensors under GGUF names, Q and K permuted for ggml's RoPE.
 *
 * @example
 * ```ts
 * tinyGgufTensors(tinyModelSpec())[0].name; // "token_embd.weight"
 * ```
 */
export function tinyGgufTensors(spec: TinyModelSpec): GgufTensor[] {
  return tinyTensors(spec).map((t) => {
    const name = ggufTensorName(t.name);
    const heads = t.name.endsWith("q_proj.weight")
      ? spec.num_attention_heads
      : t.name.endsWith("k_proj.weight")
      ? spec.num_key_value_heads
      : undefined;
    const data = heads === undefined ? t.data : permuteQK(t.data, heads, t.shape[1]);
    return { name, shape: t.shape, data };
  });
}

/**
 * The tiny model as GGUF bytes (F32, version 3, alignment 32). The same spec gives the same bytes.
 *
 * @example
 * ```ts
 * const bytes = tinyGgufBytes(tinyModelSpec({ seed: 0 }));
 * new TextDecoder().decode(bytes.subarray(0, 4)); // "GGUF"
 * ```
 */
export function tinyGgufBytes(spec: TinyModelSpec): Uint8Array<ArrayBuffer> {
  return encodeGguf(tinyGgufMetadata(spec), tinyGgufTensors(spec));
}

/**
 * Writes the tiny model as one GGUF file at `path` (atomically: a temporary file, then a rename).
 * Returns the bytes written.
 *
 * @example
 * ```ts
 * await writeTinyGguf(".servelab/tiny-model/tiny.gguf", tinyModelSpec());
 * // llama-server -m .servelab/tiny-model/tiny.gguf --metrics --host 127.0.0.1
 * ```
 */
export async function writeTinyGguf(path: string, spec: TinyModelSpec): Promise<number> {
  const bytes = tinyGgufBytes(spec);
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
  return bytes.length;
}
