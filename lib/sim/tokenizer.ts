/**
 * The embedded engine's tokenizer: deterministic, download-free, about 4 characters per token on English.
 *
 * How it works (docs/sim-model.md, "Tokenizer"):
 * - Text is split into pieces with Qwen2's pre-tokenizer pattern (words with their leading space,
 *   single digits, punctuation runs, whitespace runs); the special tokens `<|endoftext|>`,
 *   `<|im_start|>` and `<|im_end|>` are matched first.
 * - A piece found in the vocabulary is one token; a run of punctuation or whitespace made of
 *   vocabulary pieces is split into them, longest first. The vocabulary is pseudo-words (`kavo`, ` kavo`), chat roles and common
 *   English words, digits, common punctuation and whitespace, so text made of it round-trips exactly:
 *   `decode(encode(x)) === x`.
 * - Any other piece is cut into `ceil(length / CHARS_PER_CHUNK)` chunks, each hashed (FNV-1a) onto a
 *   pseudo-word; that keeps real English near 4 characters per token, like BPE, and keeps ids stable
 *   across runs and processes. Decoding such ids gives pseudo-words, not the original text.
 * - Generated tokens come from `tokenFor(seed, request_seed, index)`: pseudo-words with some
 *   punctuation, and EOS with probability `EOS_PROBABILITY` per token after the first.
 *
 * @example
 * ```ts
 * import { decode, encode } from "./tokenizer.ts";
 * const ids = encode("Hello world, this is servelab.");
 * decode(encode(" kavo relu.")) === " kavo relu."; // true: text made of the vocabulary
 * ```
 * @module
 */

const CONSONANTS = "bdfgklmnprstvxz";
const VOWELS = "aeiou";
/** Characters per chunk when a piece is not in the vocabulary (calibrated on English prose to ~4 chars/token). */
export const CHARS_PER_CHUNK = 6;
/** Per-token probability that a generated token is EOS (index >= 1): natural answers average ~256 tokens. */
export const EOS_PROBABILITY = 1 / 256;
/** Per-token probability that a generated token is punctuation (never twice in a row). */
const PUNCT_PROBABILITY = 1 / 10;

const PUNCT = [".", ",", "!", "?", ":", ";", "-", "'", '"', "(", ")", "/", "*", "#", "=", "`"];
const SPACED_PUNCT = [" (", " -", ' "', " '", " *", " #", " =", " `", " /"];
const MULTI_PUNCT = [
  "...",
  "**",
  "##",
  "###",
  "```",
  "--",
  "->",
  "),",
  ").",
  '",',
  '."',
  ".\n",
  ".\n\n",
  ":\n",
];
const WHITESPACE = [" ", "  ", "   ", "    ", "\n", "\n\n", "\n\n\n", "\t", " \n", "\r\n"];
const DIGITS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/** Chat roles and the most common English words, so chat markup and some real text round-trip. */
const ENGLISH = (
  "system user assistant tool the of and to a in is it you that he was for on are with as I his they be " +
  "at one have this from or had by not but what some we can out other were all there when up use your how " +
  "said an each she which do their time if will way about many then them write would like so these her " +
  "long make thing see him two has look more day could go come did number sound no most people my over " +
  "know water than call first who may down side been now find any new work part take get place made live " +
  "where after back little only round man year came show every good me give our under name very through " +
  "just form sentence great think say help low line differ turn cause much mean before move right boy old " +
  "too same tell does set three want air well also play small end put home read hand large add even here " +
  "must big high such why ask men went kind off need try us again point page answer question"
).split(" ");

function pseudoWords(): string[] {
  const syl: string[] = [];
  for (const c of CONSONANTS) for (const v of VOWELS) syl.push(c + v);
  const words: string[] = [...syl];
  for (const s of syl) for (const c of CONSONANTS) words.push(s + c);
  for (const a of syl) for (const b of syl) words.push(a + b);
  return words;
}

const WORDS = pseudoWords();
/** Piece strings by id. Layout: digits, punctuation, whitespace, " word" forms, "word" forms, specials. */
const PIECES: string[] = [...DIGITS, ...PUNCT, ...SPACED_PUNCT, ...MULTI_PUNCT, ...WHITESPACE];
const SPACED_WORD_BASE = PIECES.length;
for (const w of WORDS) PIECES.push(" " + w);
const BARE_WORD_BASE = PIECES.length;
for (const w of WORDS) PIECES.push(w);
const PSEUDO = new Set(WORDS);
for (const w of ENGLISH) if (!PSEUDO.has(w)) PIECES.push(" " + w, w);
const PUNCT_GEN = [".", ",", ".", ",", "!", "?", ":", ";"].map((p) => PIECES.indexOf(p));

/** Special tokens, Qwen-style. */
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
const SPECIAL_BASE = PIECES.length;
PIECES.push(...SPECIAL_TOKENS);

/** Number of token ids: every id in [0, VOCAB_SIZE) decodes. */
export const VOCAB_SIZE = PIECES.length;
/** `<|endoftext|>`. */
export const ENDOFTEXT_TOKEN_ID = SPECIAL_BASE;
/** `<|im_start|>`. */
export const IM_START_TOKEN_ID = SPECIAL_BASE + 1;
/** `<|im_end|>`: ends generation, as for Qwen2.5-Instruct. */
export const EOS_TOKEN_ID = SPECIAL_BASE + 2;

const VOCAB = new Map<string, number>(PIECES.map((p, i) => [p, i]));

// Qwen2's pre-tokenizer pattern, specials first; contractions spelled without the (?i:) modifier.
const PRETOKENIZE =
  /<\|endoftext\|>|<\|im_start\|>|<\|im_end\|>|'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** FNV-1a over UTF-16 code units of s[start, end). */
function fnv1a(s: string, start: number, end: number, h = 0x811c9dc5): number {
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit integer mixer (murmur3 finalizer). */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const HAS_LETTER = /\p{L}/u;
const MAX_PIECE_CHARS = Math.max(...PIECES.slice(0, SPECIAL_BASE).map((p) => p.length));

/** Splits a piece into vocabulary pieces, longest first; false (out untouched) if some part is unknown. */
function greedySplit(piece: string, out: number[]): boolean {
  const ids: number[] = [];
  let i = 0;
  while (i < piece.length) {
    let found = false;
    for (let len = Math.min(MAX_PIECE_CHARS, piece.length - i); len > 0; len--) {
      const id = VOCAB.get(piece.slice(i, i + len));
      if (id !== undefined) {
        ids.push(id);
        i += len;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  for (const id of ids) out.push(id);
  return true;
}

function encodePiece(piece: string, out: number[]): void {
  const known = VOCAB.get(piece);
  if (known !== undefined) {
    out.push(known);
    return;
  }
  if (!HAS_LETTER.test(piece) && greedySplit(piece, out)) return;
  const n = piece.length;
  const chunks = Math.ceil(n / CHARS_PER_CHUNK);
  for (let k = 0; k < chunks; k++) {
    const start = Math.floor((k * n) / chunks);
    const end = Math.floor(((k + 1) * n) / chunks);
    const sub = end - start === n ? piece : piece.slice(start, end);
    const id = VOCAB.get(sub);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    const w = fnv1a(piece, start, end) % WORDS.length;
    out.push(piece.charCodeAt(start) === 32 ? SPACED_WORD_BASE + w : BARE_WORD_BASE + w);
  }
}

const pieceCache = new Map<string, number[]>();
const PIECE_CACHE_MAX = 50_000;

/**
 * Token ids of a text. Deterministic across runs and processes; special tokens are recognised.
 *
 * @example
 * ```ts
 * encode("<|im_start|>user\nHi<|im_end|>"); // [IM_START_TOKEN_ID, ..., EOS_TOKEN_ID]
 * ```
 */
export function encode(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(PRETOKENIZE)) {
    const piece = m[0];
    let ids = pieceCache.get(piece);
    if (ids === undefined) {
      ids = [];
      encodePiece(piece, ids);
      if (pieceCache.size >= PIECE_CACHE_MAX) pieceCache.clear();
      pieceCache.set(piece, ids);
    }
    if (ids.length === 1) out.push(ids[0]);
    else for (const id of ids) out.push(id);
  }
  return out;
}

/** Number of tokens of a text (same as `encode(text).length`). */
export function countTokens(text: string): number {
  return encode(text).length;
}

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** Drop `<|endoftext|>`, `<|im_start|>` and `<|im_end|>` from the text (default false). */
  skip_special_tokens?: boolean;
}

/**
 * Text of token ids. Exact inverse of `encode` for text made of the vocabulary.
 *
 * @example
 * ```ts
 * decode([EOS_TOKEN_ID], { skip_special_tokens: true }); // ""
 * ```
 */
export function decode(ids: readonly number[], opts: DecodeOptions = {}): string {
  let s = "";
  for (const id of ids) {
    const p = PIECES[id];
    if (p === undefined || !Number.isInteger(id)) {
      throw new RangeError(
        `Cannot decode token id ${id}: ids must be integers in [0, ${VOCAB_SIZE}); use ids from encode().`,
      );
    }
    if (opts.skip_special_tokens && id >= SPECIAL_BASE) continue;
    s += p;
  }
  return s;
}

/** The piece string of each id (what /tokenize returns as `token_strs`). */
export function tokenStrings(ids: readonly number[]): string[] {
  return ids.map((id) => decode([id]));
}

/** A 32-bit seed from a request id (the default per-request seed). */
export function requestSeed(request_id: string): number {
  return fnv1a(request_id, 0, request_id.length);
}

function draw(seed: number, request_seed: number, index: number, salt: number): number {
  return mix32(mix32(mix32(seed ^ salt) ^ request_seed) ^ Math.imul(index + 1, 0x9e3779b1));
}

function isPunctSlot(seed: number, request_seed: number, index: number): boolean {
  return index > 0 && draw(seed, request_seed, index, 0x5bd1e995) / 2 ** 32 < PUNCT_PROBABILITY;
}

/** Options of {@link tokenFor}. */
export interface TokenForOptions {
  /** When false (ignore_eos, or fewer than min_tokens so far), EOS is never returned (default true). */
  allow_eos?: boolean;
}

/**
 * The generated token at output position `index` for an engine seed and a request seed: a pseudo-word,
 * punctuation (never twice in a row) or, from index 1 on, EOS with probability EOS_PROBABILITY.
 *
 * @example
 * ```ts
 * const t = tokenFor(0, requestSeed("req-1"), 0); // same value in every run
 * ```
 */
export function tokenFor(
  seed: number,
  request_seed: number,
  index: number,
  opts: TokenForOptions = {},
): number {
  const r = draw(seed, request_seed, index, 0x27d4eb2f);
  if (index > 0 && opts.allow_eos !== false && r / 2 ** 32 < EOS_PROBABILITY) return EOS_TOKEN_ID;
  if (isPunctSlot(seed, request_seed, index) && !isPunctSlot(seed, request_seed, index - 1)) {
    return PUNCT_GEN[r % PUNCT_GEN.length];
  }
  return SPACED_WORD_BASE + (mix32(r) % WORDS.length);
}

/**
 * Token ids of a synthetic prompt of exactly `num_tokens` tokens (pseudo-words), deterministic in `seed`.
 * `encode(syntheticText(n, seed))` equals `syntheticTokenIds(n, seed)`.
 *
 * @example
 * ```ts
 * syntheticTokenIds(2000, 7).length; // 2000
 * ```
 */
export function syntheticTokenIds(num_tokens: number, seed: number): number[] {
  const out = new Array<number>(num_tokens);
  for (let i = 0; i < num_tokens; i++) {
    out[i] = SPACED_WORD_BASE + (mix32(draw(seed, 0x1234567, i, 0)) % WORDS.length);
  }
  return out;
}

/**
 * Text of exactly `num_tokens` tokens made of pseudo-words, deterministic in `seed`.
 *
 * @example
 * ```ts
 * encode(syntheticText(100, 1)).length; // 100
 * ```
 */
export function syntheticText(num_tokens: number, seed: number): string {
  return decode(syntheticTokenIds(num_tokens, seed));
}

/** One chat message; content is plain text. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | string;
  content: string;
}

/** Options of {@link applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** End with `<|im_start|>assistant\n` (default true). */
  add_generation_prompt?: boolean;
  /**
   * System prompt added when the first message is not a system message (default Qwen2.5's
   * "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."); false adds none.
   */
  default_system?: string | false;
}

/** Qwen2.5-Instruct's default system prompt. */
export const QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

/**
 * Prompt text of a chat in Qwen2.5's ChatML template, so chat prompt_tokens count like a real server.
 *
 * @example
 * ```ts
 * applyChatTemplate([{ role: "user", content: "Hi" }]);
 * // "<|im_start|>system\nYou are Qwen, ...<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
 * ```
 */
export function applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
  const system = opts.default_system ?? QWEN_DEFAULT_SYSTEM;
  let s = "";
  if (system !== false && messages[0]?.role !== "system") s += `<|im_start|>system\n${system}<|im_end|>\n`;
  for (const m of messages) s += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (opts.add_generation_prompt ?? true) s += "<|im_start|>assistant\n";
  return s;
}
