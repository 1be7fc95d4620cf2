/**
 * Writes the tiny model as a Hugging Face model folder that `vllm serve DIR` and llama.cpp's converter
 * read: config.json, generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
 * special_tokens_map.json.
 * @module
 */
import { encodeSafetensors } from "./safetensors.ts";
import { headDim, TINY_DTYPE, type TinyModelSpec } from "./spec.ts";
import { parameterCount, tinyTensors } from "./tensors.ts";
import {
  specialTokensMapJson,
  type TinyTokenizer,
  tinyTokenizer,
  tokenizerConfigJson,
  tokenizerJson,
} from "./tokenizer.ts";

/**
 * The model's `config.json` (LlamaForCausalLM, float32, untied embeddings).
 *
 * @example
 * ```ts
 * tinyConfigJson(tinyModelSpec(), tinyTokenizer(tinyModelSpec())).head_dim; // 64
 * ```
 */
export function tinyConfigJson(spec: TinyModelSpec, tok: TinyTokenizer): Record<string, unknown> {
  return {
    _name_or_path: spec.name,
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: tok.special.bos_id,
    eos_token_id: tok.special.eos_id,
    pad_token_id: tok.special.pad_id,
    head_dim: headDim(spec),
    hidden_act: "silu",
    hidden_size: spec.hidden_size,
    initializer_range: spec.initializer_range,
    intermediate_size: spec.intermediate_size,
    max_position_embeddings: spec.max_position_embeddings,
    mlp_bias: false,
    num_attention_heads: spec.num_attention_heads,
    num_hidden_layers: spec.num_hidden_layers,
    num_key_value_heads: spec.num_key_value_heads,
    pretraining_tp: 1,
    rms_norm_eps: spec.rms_norm_eps,
    rope_scaling: null,
    rope_theta: spec.rope_theta,
    tie_word_embeddings: false,
    torch_dtype: TINY_DTYPE,
    transformers_version: "4.57.0",
    use_cache: true,
    vocab_size: spec.vocab_size,
  };
}

/** `generation_config.json`: stop at either end token; no sampling defaults beyond the engine's. */
export function tinyGenerationConfigJson(tok: TinyTokenizer): Record<string, unknown> {
  return {
    bos_token_id: tok.special.bos_id,
    eos_token_id: [tok.special.eos_id, tok.special.endoftext_id],
    pad_token_id: tok.special.pad_id,
    transformers_version: "4.57.0",
  };
}

/** The file contents of a tiny model folder, by file name (bytes, ready to write). */
export function tinyModelFiles(spec: TinyModelSpec): Record<string, Uint8Array<ArrayBuffer>> {
  return build(spec).files;
}

function build(spec: TinyModelSpec): { files: Record<string, Uint8Array<ArrayBuffer>>; parameters: number } {
  const tok = tinyTokenizer(spec);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");
  const tensors = tinyTensors(spec);
  const files = {
    "config.json": json(tinyConfigJson(spec, tok)),
    "generation_config.json": json(tinyGenerationConfigJson(tok)),
    "model.safetensors": encodeSafetensors(tensors, {
      format: "pt",
      servelab_seed: String(spec.seed),
      servelab_parameters: String(parameterCount(tensors)),
    }),
    "tokenizer.json": json(tokenizerJson(tok)),
    "tokenizer_config.json": json(tokenizerConfigJson(tok, spec)),
    "special_tokens_map.json": json(specialTokensMapJson(tok)),
  };
  return { files, parameters: parameterCount(tensors) };
}

/** What {@link writeTinyModel} wrote. */
export interface TinyModelWritten {
  dir: string;
  files: string[];
  total_bytes: number;
  parameters: number;
}

/**
 * Writes the tiny model into `dir` (created if missing; existing files of the same names are replaced).
 *
 * @example
 * ```ts
 * const out = await writeTinyModel(".servelab/tiny-model", tinyModelSpec({ seed: 0 }));
 * // vllm serve .servelab/tiny-model --dtype float32 --enforce-eager
 * ```
 */
export async function writeTinyModel(dir: string, spec: TinyModelSpec): Promise<TinyModelWritten> {
  const { files, parameters } = build(spec);
  await Deno.mkdir(dir, { recursive: true });
  let total = 0;
  for (const [name, bytes] of Object.entries(files)) {
    const tmp = `${dir}/.${name}.tmp`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, `${dir}/${name}`);
    total += bytes.length;
  }
  return { dir, files: Object.keys(files), total_bytes: total, parameters };
}
