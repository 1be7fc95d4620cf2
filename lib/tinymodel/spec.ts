/**
 * The tiny model's shape: a Llama-architecture decoder small enough to generate in milliseconds and to
 * serve on a CPU, with the real dimensions' structure (grouped-query attention, head_dim 64, SwiGLU MLP).
 * Everything about the model follows from this spec and its seed; nothing is downloaded.
 * @module
 */
import { z } from "zod";

/** The spec's schema (options are checked at the boundary; every field has a default). */
export const TinyModelSpecSchema = z.object({
  /** Seed of the weights; the same seed gives the same bytes. */
  seed: z.number().int().nonnegative().default(0),
  hidden_size: z.number().int().positive().default(256),
  num_hidden_layers: z.number().int().positive().default(2),
  num_attention_heads: z.number().int().positive().default(4),
  num_key_value_heads: z.number().int().positive().default(2),
  intermediate_size: z.number().int().positive().default(512),
  /** >= the largest --max-model-len a tier sweeps (the KV tier goes to 32,768); RoPE needs no table. */
  max_position_embeddings: z.number().int().positive().default(32768),
  /** Vocabulary size: 256 byte tokens + learned merges + 3 special tokens. */
  vocab_size: z.number().int().min(260).max(8192).default(512),
  rms_norm_eps: z.number().positive().default(1e-5),
  rope_theta: z.number().positive().default(10000),
  /** Standard deviation of the random linear weights (HF's initializer_range). */
  initializer_range: z.number().positive().default(0.02),
  /**
   * Standard deviation of the `lm_head` weights: larger than initializer_range so the next-token
   * distribution is peaked (logit spread ~ lm_head_std x sqrt(hidden)) and sampling rarely picks a token
   * whose row is zeroed (see tinyTensors).
   */
  lm_head_std: z.number().positive().default(0.25),
  /** Name written as the config's `_name_or_path` and the served model name's default. */
  name: z.string().min(1).default("servelab/tiny-llama"),
});

/** A complete tiny-model spec. */
export type TinyModelSpec = z.infer<typeof TinyModelSpecSchema>;
/** Options for {@link tinyModelSpec}: any subset of the spec. */
export type TinyModelOptions = z.input<typeof TinyModelSpecSchema>;

/** Dtype of the weights as written (float32: both vLLM's CPU backend and llama.cpp read it). */
export const TINY_DTYPE = "float32" as const;

/**
 * A complete spec from options, checked: heads divide the hidden size, KV heads divide the heads.
 *
 * @example
 * ```ts
 * const spec = tinyModelSpec({ seed: 7 });
 * spec.hidden_size / spec.num_attention_heads; // 64 (head_dim)
 * ```
 */
export function tinyModelSpec(opts: TinyModelOptions = {}): TinyModelSpec {
  const parsed = TinyModelSpecSchema.safeParse(opts);
  if (!parsed.success) {
    throw new TypeError(
      `Tiny model options are invalid: ${
        parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
      }. ` +
        "Fix the named fields or omit them to take the defaults.",
    );
  }
  const s = parsed.data;
  if (s.hidden_size % s.num_attention_heads !== 0) {
    throw new RangeError(
      `Tiny model hidden_size ${s.hidden_size} is not a multiple of num_attention_heads ${s.num_attention_heads}; ` +
        "choose heads that divide the hidden size (head_dim = hidden_size / heads).",
    );
  }
  if (s.num_attention_heads % s.num_key_value_heads !== 0) {
    throw new RangeError(
      `Tiny model num_attention_heads ${s.num_attention_heads} is not a multiple of num_key_value_heads ` +
        `${s.num_key_value_heads}; choose KV heads that divide the attention heads.`,
    );
  }
  return s;
}

/** head_dim = hidden_size / num_attention_heads. */
export function headDim(spec: TinyModelSpec): number {
  return spec.hidden_size / spec.num_attention_heads;
}
