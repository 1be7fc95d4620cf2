/**
 * The tiny model's weights: random, from the spec's seed, with Hugging Face Llama parameter names.
 * @module
 */
import { createRng, normalSample } from "../analysis/random.ts";
import type { NamedTensor } from "./safetensors.ts";
import { headDim, type TinyModelSpec } from "./spec.ts";
import { TINY_SPECIAL_TOKENS } from "./tokenizer.ts";

/**
 * Every weight of the model, in HF order: embeddings, per layer the norms, attention and MLP
 * projections, the final norm and an untied `lm_head`. Linear weights and embeddings are
 * N(0, initializer_range); norms are 1. The `lm_head` rows of the special tokens are 0, so greedy
 * decoding never picks one (their logit 0 stays below the maximum of the others' random logits) and
 * random text does not stop early at an end-of-sequence token.
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
  for (let id = spec.vocab_size - TINY_SPECIAL_TOKENS.length; id < spec.vocab_size; id++) {
    head.data.fill(0, id * H, (id + 1) * H);
  }
  out.push(head);
  return out;
}

/** Total parameter count of the tensors. */
export function parameterCount(tensors: NamedTensor[]): number {
  return tensors.reduce((n, t) => n + t.data.length, 0);
}
