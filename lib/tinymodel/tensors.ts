/**
 * The tiny model's weights: random, from the spec's seed, with Hugging Face Llama parameter names.
 * @module
 */
import { createRng, normalSample } from "../base/random.ts";
import type { NamedTensor } from "./safetensors.ts";
import { headDim, type TinyModelSpec } from "./spec.ts";
import { TINY_SPECIAL_TOKENS } from "./tokenizer.ts";

/**
 * Every weight of the model, in HF order: embeddings, per layer the norms, attention and MLP
 * projections, the final norm and an untied `lm_head`. Linear weights and embeddings are
 * N(0, initializer_range); norms are 1; `lm_head` is N(0, lm_head_std). The `lm_head` rows of tokens a
 * stream should not carry are 0: the special tokens (random text must not stop early at an end token),
 * the byte tokens 0x80-0xFF (alone they are incomplete UTF-8, which the engine's detokenizer holds back, so
 * a chunk would carry no text and tokens would arrive in bursts) and the control bytes other than tab and
 * newline. A zero row's logit 0 stays below the maximum of the others' random logits, so greedy decoding
 * never picks one and sampling almost never does.
 *
 * @example
 * ```ts
 * const ts = tinyTensors(tinyModelSpec());
 * ts.find((t) => t.name === "lm_head.weight")!.shape; // [512, 256]
 * ```
 */
export function tinyTensors(spec: TinyModelSpec): NamedTensor[] {
  const rng = createRng(spec.seed);
  const H = spec.hidden_size;
  const hd = headDim(spec);
  const random = (name: string, shape: number[]): NamedTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = normalSample(rng) * spec.initializer_range;
    return { name, shape, data };
  };
  const ones = (name: string): NamedTensor => ({ name, shape: [H], data: new Float32Array(H).fill(1) });
  const out: NamedTensor[] = [random("model.embed_tokens.weight", [spec.vocab_size, H])];
  for (let l = 0; l < spec.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    out.push(
      ones(`${p}.input_layernorm.weight`),
      random(`${p}.self_attn.q_proj.weight`, [spec.num_attention_heads * hd, H]),
      random(`${p}.self_attn.k_proj.weight`, [spec.num_key_value_heads * hd, H]),
      random(`${p}.self_attn.v_proj.weight`, [spec.num_key_value_heads * hd, H]),
      random(`${p}.self_attn.o_proj.weight`, [H, spec.num_attention_heads * hd]),
      ones(`${p}.post_attention_layernorm.weight`),
      random(`${p}.mlp.gate_proj.weight`, [spec.intermediate_size, H]),
      random(`${p}.mlp.up_proj.weight`, [spec.intermediate_size, H]),
      random(`${p}.mlp.down_proj.weight`, [H, spec.intermediate_size]),
    );
  }
  out.push(ones("model.norm.weight"));
  const head = random("lm_head.weight", [spec.vocab_size, H]);
  const scale = spec.lm_head_std / spec.initializer_range;
  for (let i = 0; i < head.data.length; i++) head.data[i] *= scale;
  for (const id of silencedTokenIds(spec)) head.data.fill(0, id * H, (id + 1) * H);
  out.push(head);
  return out;
}

/** Total parameter count of the tensors. */
export function parameterCount(tensors: NamedTensor[]): number {
  return tensors.reduce((n, t) => n + t.data.length, 0);
}

/**
 * Ids whose `lm_head` row is zero: control bytes except tab and newline, DEL, the bytes 0x80-0xFF, and the
 * special tokens.
 *
 * @example
 * ```ts
 * silencedTokenIds(tinyModelSpec()).includes(0x80); // true
 * ```
 */
export function silencedTokenIds(spec: TinyModelSpec): number[] {
  const ids: number[] = [];
  for (let b = 0; b < 256; b++) {
    if ((b < 0x20 && b !== 0x09 && b !== 0x0a) || b >= 0x7f) ids.push(b);
  }
  for (let id = spec.vocab_size - TINY_SPECIAL_TOKENS.length; id < spec.vocab_size; id++) ids.push(id);
  return ids;
}
