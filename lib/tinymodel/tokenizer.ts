/**
 * The tiny model's tokenizer: GPT-2 style byte-level BPE, written by the lab. 256 byte tokens (id = byte
 * value, spelled with GPT-2's byte-to-unicode table), merges learned from seeded English-like text (the
 * same generator the probe's prompts use, so prompts tokenize to realistic lengths), and three ChatML
 * special tokens at the end of the vocabulary. Byte-level BPE is what both Hugging Face `tokenizers`
 * (vLLM) and llama.cpp's GGUF `gpt2` tokenizer model express natively, with the GPT-2 pre-tokenizer regex.
 * @module
 */
import { seededText } from "../probe/prompts.ts";
import type { TinyModelSpec } from "./spec.ts";

/** The special tokens, in id order after the byte and merge tokens. */
export const TINY_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;

/** GPT-2's pre-tokenizer pattern (the one `tokenizers`' ByteLevel pre-tokenizer and llama.cpp's gpt2 use). */
export const GPT2_PRETOKENIZE_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** ChatML chat template (Jinja), as Qwen-style models ship it. */
export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + " +
  "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}" +
  "{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A byte-level BPE tokenizer: the vocabulary in id order, the merges in rank order, the special ids. */
export interface TinyTokenizer {
  /** Every token, index = id: 256 byte tokens, merge results, then the special tokens. */
  tokens: string[];
  /** Merges in rank order, each "left right" (byte-level tokens never contain a space). */
  merges: string[];
  /** Ids of the special tokens. */
  special: {
    endoftext_id: number;
    im_start_id: number;
    im_end_id: number;
    bos_id: number;
    eos_id: number;
    pad_id: number;
  };
}

/** GPT-2's byte -> printable unicode character table (index = byte). */
export function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => table[b] = String.fromCodePoint(cs[i]));
  return table;
}

const BYTE_CHARS = byteToUnicode();
const PRETOKENIZE = new RegExp(GPT2_PRETOKENIZE_PATTERN, "gu");
const ENCODER = new TextEncoder();

/** Text -> GPT-2 pre-tokens, each spelled in byte-level characters. */
export function pretokenize(text: string): string[][] {
  return (text.match(PRETOKENIZE) ?? []).map((piece) => [...ENCODER.encode(piece)].map((b) => BYTE_CHARS[b]));
}

/** The seeded corpus the merges are learned from (fixed, so every weight seed shares one tokenizer). */
export function tokenizerCorpus(): string {
  return Array.from({ length: 8 }, (_, i) => seededText(1000 + i, 600)).join("\n");
}

/**
 * The tiny model's tokenizer, learned deterministically (ties broken by the pair's spelling).
 *
 * @example
 * ```ts
 * const tok = tinyTokenizer(tinyModelSpec());
 * tok.tokens.length; // 512 = spec.vocab_size
 * ```
 */
export function tinyTokenizer(spec: TinyModelSpec): TinyTokenizer {
  const target = spec.vocab_size - TINY_SPECIAL_TOKENS.length;
  const tokens = [...BYTE_CHARS];
  const known = new Set(tokens);
  const merges: string[] = [];
  // Unique pre-tokens with their counts; each is a list of current symbols.
  const counts = new Map<string, number>();
  for (const word of pretokenize(tokenizerCorpus())) {
    const key = word.join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const words = [...counts.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([key, count]) => ({ symbols: [...key], count }));
  while (tokens.length < target) {
    const pairs = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.symbols.length; i++) {
        const p = `${w.symbols[i]} ${w.symbols[i + 1]}`;
        pairs.set(p, (pairs.get(p) ?? 0) + w.count);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [p, c] of pairs) {
      if (c > bestCount || (c === bestCount && best !== undefined && p < best)) [best, bestCount] = [p, c];
    }
    if (best === undefined) {
      throw new RangeError(
        `Tiny model vocab_size ${spec.vocab_size} needs more merges than the tokenizer corpus yields ` +
          `(stopped at ${tokens.length + TINY_SPECIAL_TOKENS.length}); choose a smaller vocab_size.`,
      );
    }
    const [left, right] = best.split(" ");
    const merged = left + right;
    merges.push(best);
    if (!known.has(merged)) {
      known.add(merged);
      tokens.push(merged);
    }
    for (const w of words) w.symbols = applyMerge(w.symbols, left, right);
  }
  const base = tokens.length;
  tokens.push(...TINY_SPECIAL_TOKENS);
  return {
    tokens,
    merges,
    special: {
      endoftext_id: base,
      im_start_id: base + 1,
      im_end_id: base + 2,
      bos_id: base,
      eos_id: base + 2,
      pad_id: base,
    },
  };
}

function applyMerge(symbols: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
      out.push(left + right);
      i++;
    } else out.push(symbols[i]);
  }
  return out;
}

/**
 * Encodes text with the tokenizer as Hugging Face's BPE does (lowest-rank merge first, per pre-token).
 * Special tokens in the text are not recognised (plain text only).
 *
 * @example
 * ```ts
 * const tok = tinyTokenizer(tinyModelSpec());
 * tinyEncode(tok, "the cache"); // e.g. [token ids]
 * ```
 */
export function tinyEncode(tok: TinyTokenizer, text: string): number[] {
  const rank = new Map(tok.merges.map((m, i) => [m, i]));
  const id = new Map(tok.tokens.map((t, i) => [t, i]));
  const out: number[] = [];
  for (let symbols of pretokenize(text)) {
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) [bestRank, bestAt] = [r, i];
      }
      if (bestAt < 0) break;
      const [left, right] = [symbols[bestAt], symbols[bestAt + 1]];
      symbols = applyMerge(symbols, left, right);
    }
    for (const s of symbols) out.push(id.get(s)!);
  }
  return out;
}

/**
 * Decodes ids back to text (byte-level: each token's characters map back to bytes).
 *
 * @example
 * ```ts
 * tinyDecode(tok, tinyEncode(tok, "hello")); // "hello"
 * ```
 */
export function tinyDecode(tok: TinyTokenizer, ids: number[]): string {
  const back = new Map(BYTE_CHARS.map((c, b) => [c, b]));
  const bytes: number[] = [];
  for (const i of ids) {
    const t = tok.tokens[i];
    if (t === undefined) {
      throw new RangeError(`Token id ${i} is outside the vocabulary (0..${tok.tokens.length - 1}).`);
    }
    if ((TINY_SPECIAL_TOKENS as readonly string[]).includes(t)) {
      bytes.push(...ENCODER.encode(t));
      continue;
    }
    for (const c of t) bytes.push(back.get(c)!);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** `tokenizer.json` in Hugging Face `tokenizers` format. */
export function tokenizerJson(tok: TinyTokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tok.tokens.forEach((t, i) => {
    if (!(TINY_SPECIAL_TOKENS as readonly string[]).includes(t)) vocab[t] = i;
  });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: TINY_SPECIAL_TOKENS.map((content) => ({
      id: tok.tokens.indexOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tok.merges,
    },
  };
}

/** `tokenizer_config.json` (fast tokenizer from tokenizer.json, ChatML template, no automatic BOS). */
export function tokenizerConfigJson(tok: TinyTokenizer, spec: TinyModelSpec): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const content of TINY_SPECIAL_TOKENS) {
    decoder[String(tok.tokens.indexOf(content))] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  return {
    add_bos_token: false,
    add_eos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: ["<|im_start|>", "<|im_end|>"],
    bos_token: tok.tokens[tok.special.bos_id],
    chat_template: TINY_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: tok.tokens[tok.special.eos_id],
    model_max_length: spec.max_position_embeddings,
    pad_token: tok.tokens[tok.special.pad_id],
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: null,
  };
}

/** `special_tokens_map.json`. */
export function specialTokensMapJson(tok: TinyTokenizer): Record<string, unknown> {
  return {
    additional_special_tokens: ["<|im_start|>", "<|im_end|>"],
    bos_token: tok.tokens[tok.special.bos_id],
    eos_token: tok.tokens[tok.special.eos_id],
    pad_token: tok.tokens[tok.special.pad_id],
  };
}
