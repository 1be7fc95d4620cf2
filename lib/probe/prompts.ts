/**
 * Prompts of exact token lengths, built through the engine's own tokenizer (`POST /tokenize`), so a
 * "2,048-token prompt" is 2,048 tokens on the engine that serves it, real or embedded.
 *
 * Text comes from a seeded generator of plain English-like words: different seeds give prompts that
 * differ from their first token (no accidental prefix-cache hits), the same seed gives the same prompt.
 * Exact lengths are obtained by tokenizing enough text and slicing the token ids; the ids are sent as
 * the prompt to `/v1/completions` (vLLM accepts token-id prompts), so no decode round trip can shift a
 * boundary.
 * @module
 */
import { z } from "zod";
import { guardedFetch, RedirectRefusedError } from "../base/guarded_fetch.ts";
import { createRng } from "../base/random.ts";
import { localTokenizerFor, TOKENIZER_ENV } from "./local_tokenizer.ts";

const WORDS = (
  "the of and to in is that for it as was with be by on not he this are or his from at which but have an " +
  "they you were her she there one all we their has been if more when will would who so no out up into do " +
  "time only could new them man some these then two first may any like now my such make over our even most " +
  "me state after also made many did must before back see through way where get much go well your know " +
  "should down work year because come people just say each those take day good how long little use world " +
  "house against never large small water system number city part place point group under country ask " +
  "cache block token server request engine memory queue batch model latency signal prefix length window"
).split(" ");

/**
 * Seeded English-like text of about `words` words, with sentence punctuation.
 *
 * @example
 * ```ts
 * seededText(1, 12); // "Seed 1. Model signal the queue ... ."
 * ```
 */
export function seededText(seed: number, words: number): string {
  const rnd = createRng(seed * 2654435761 + 12345);
  const out: string[] = [`Seed ${seed}.`];
  let sentence = 0;
  for (let i = 0; i < words; i++) {
    let w = WORDS[Math.floor(rnd() * WORDS.length)];
    if (sentence === 0) w = w[0].toUpperCase() + w.slice(1);
    sentence++;
    if (sentence > 8 && rnd() < 0.15) {
      w += ".";
      sentence = 0;
    }
    out.push(w);
  }
  return out.join(" ") + ".";
}

const TokenizeResponse = z.object({ tokens: z.array(z.number().int()), count: z.number().int().optional() })
  .passthrough();

/** Options for the tokenizer calls. */
export interface TokenizeOptions {
  headers?: Record<string, string>;
  /** Per request. Default 30 000. */
  timeout_ms?: number;
  /** Aborts every request (a caller's overall deadline, e.g. the health canary's timeout_s). */
  signal?: AbortSignal;
  /** Add the model's special tokens (BOS) as a completion would. Default false: prompts are spliced. */
  add_special_tokens?: boolean;
}

/** Base URLs whose /tokenize answered "no such endpoint" (404, 405, 501): not asked again. */
const NO_TOKENIZE = new Map<string, number>();

/**
 * Token ids of `text` on the engine at `baseUrl` (`POST /tokenize`). A server without `/tokenize` (404, 405,
 * 501) is tokenized with the model's own tokenizer on the lab's side when the lab has it (local_tokenizer.ts:
 * `SERVELAB_TOKENIZER`, or a local model folder); else the error names the fix.
 *
 * @example
 * ```ts
 * const ids = await tokenize("http://127.0.0.1:8000", "Qwen/Qwen2.5-1.5B-Instruct", "Hello world");
 * ```
 */
export async function tokenize(
  baseUrl: string,
  model: string,
  text: string,
  opts: TokenizeOptions = {},
): Promise<number[]> {
  const url = `${baseUrl.replace(/\/+$/, "")}/tokenize`;
  const missing = NO_TOKENIZE.get(url);
  if (missing !== undefined) return await tokenizeLocally(url, missing, model, text);
  let res: Response;
  try {
    res = await guardedFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...opts.headers },
      // `prompt` for vLLM (and the embedded engine), `content` for llama.cpp's server; each ignores the other.
      body: JSON.stringify({
        model,
        prompt: text,
        content: text,
        add_special_tokens: opts.add_special_tokens ?? false,
      }),
      signal: opts.signal
        ? AbortSignal.any([AbortSignal.timeout(opts.timeout_ms ?? 30_000), opts.signal])
        : AbortSignal.timeout(opts.timeout_ms ?? 30_000),
    });
  } catch (e) {
    if (e instanceof RedirectRefusedError) throw e;
    throw new Error(`Cannot tokenize through ${url}: ${(e as Error).message}. Is the engine running?`);
  }
  const body = await res.text();
  if (res.status === 404 || res.status === 405 || res.status === 501) {
    NO_TOKENIZE.set(url, res.status);
    return await tokenizeLocally(url, res.status, model, text);
  }
  if (!res.ok) {
    throw new Error(
      `Cannot tokenize through ${url}: HTTP ${res.status} ${body.slice(0, 200)}. ` +
        `The lab needs vLLM's /tokenize endpoint to build prompts of exact token lengths.`,
    );
  }
  const parsed = TokenizeResponse.safeParse(JSON.parse(body));
  if (!parsed.success) {
    throw new Error(
      `Unexpected /tokenize answer from ${url}: ${body.slice(0, 200)}; expected {tokens: [...]}.`,
    );
  }
  if (parsed.data.tokens.length === 0 && text.length > 0) {
    throw new Error(
      `Unexpected /tokenize answer from ${url}: no tokens for ${text.length} characters of text. ` +
        "The server may want the text under another field; the lab sends `prompt` (vLLM) and `content` (llama.cpp).",
    );
  }
  return parsed.data.tokens;
}

async function tokenizeLocally(url: string, status: number, model: string, text: string): Promise<number[]> {
  const tok = await localTokenizerFor(model);
  if (!tok) {
    throw new Error(
      `Cannot build prompts of exact token lengths: the server has no /tokenize (${url} answered HTTP ${status}) ` +
        `and the lab has no local tokenizer for model '${model}'. Set ${TOKENIZER_ENV}=/path/to/tokenizer.json ` +
        "(or the model's folder) so the lab cuts prompts with the model's own tokenizer.",
    );
  }
  return tok.encode(text);
}

/**
 * A prompt of exactly `tokens` token ids: seeded text tokenized by the engine and cut to length.
 * Use `seed` to make prompts differ (a new seed differs from its first token on).
 *
 * @example
 * ```ts
 * const ids = await promptOfTokens(engine.baseUrl, engine.model, 2048, { seed: 3 });
 * ids.length; // 2048
 * ```
 */
export async function promptOfTokens(
  baseUrl: string,
  model: string,
  tokens: number,
  opts: TokenizeOptions & { seed?: number } = {},
): Promise<number[]> {
  if (!Number.isInteger(tokens) || tokens < 1) {
    throw new Error(`Cannot build a prompt of ${tokens} tokens: the length must be a positive integer.`);
  }
  const seed = opts.seed ?? 0;
  // English-like text runs ~1.3 tokens per word on BPE tokenizers; ask for a margin and grow if short.
  let words = Math.ceil(tokens * 0.9) + 16;
  // Growth is capped at 4 words a token: a tokenizer that yields fewer is broken, and an uncapped
  // guess (x tokens/ids per attempt) builds megabytes of text that no timeout can interrupt.
  const maxWords = tokens * 4 + 64;
  for (let attempt = 0; attempt < 6; attempt++) {
    opts.signal?.throwIfAborted();
    const ids = await tokenize(baseUrl, model, seededText(seed, words), opts);
    if (ids.length >= tokens) return ids.slice(0, tokens);
    if (words >= maxWords) break;
    words = Math.min(maxWords, Math.ceil(words * (tokens / Math.max(ids.length, 1)) * 1.2) + 16);
  }
  throw new Error(
    `Cannot build a prompt of ${tokens} tokens from ${baseUrl}: /tokenize kept returning fewer tokens than asked.`,
  );
}

/**
 * Prompts sharing a prefix: `prefix` ids followed by a distinct suffix of `suffix_tokens` per index.
 * The suffix seeds are `suffix_seed_base + i`.
 *
 * @example
 * ```ts
 * const prefix = await promptOfTokens(url, model, 1024, { seed: 1 });
 * const prompts = await sharedPrefixPrompts(url, model, prefix, 64, 8);
 * ```
 */
export async function sharedPrefixPrompts(
  baseUrl: string,
  model: string,
  prefix: readonly number[],
  suffix_tokens: number,
  count: number,
  opts: TokenizeOptions & { suffix_seed_base?: number } = {},
): Promise<number[][]> {
  const base = opts.suffix_seed_base ?? 1_000_000;
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const suffix = await promptOfTokens(baseUrl, model, suffix_tokens, { ...opts, seed: base + i });
    out.push([...prefix, ...suffix]);
  }
  return out;
}
