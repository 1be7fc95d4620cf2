/**
 * The model's own tokenizer, on the lab's side, for servers without `/tokenize` (SGLang, TGI, Ollama, LiteLLM,
 * gateways): a Hugging Face `tokenizer.json` read with `@huggingface/tokenizers` (a pure-JS implementation of
 * the `tokenizers` crate). Where it comes from, in order: `SERVELAB_TOKENIZER` (a `tokenizer.json` file or a
 * model folder holding one), else the model itself when `--model` is a local folder with a `tokenizer.json`.
 * Prompts are then cut to exact lengths in the model's tokens; the server's `usage.prompt_tokens` (recorded
 * per request) shows what it counted.
 * @module
 */
import { Tokenizer } from "@huggingface/tokenizers";
import { dirname, join } from "node:path";

/** Environment variable naming a `tokenizer.json` (or a model folder) for servers without /tokenize. */
export const TOKENIZER_ENV = "SERVELAB_TOKENIZER";

/** A local tokenizer: text to token ids (no special tokens added), and where it was read from. */
export interface LocalTokenizer {
  readonly source: string;
  encode(text: string): number[];
}

const cache = new Map<string, Promise<LocalTokenizer>>();

async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} ${path}: ${(e as Error).message}.`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} ${path} is not JSON: ${(e as Error).message}.`);
  }
}

/**
 * Loads a tokenizer from a `tokenizer.json` file or a folder holding one (with its `tokenizer_config.json`
 * beside it when present). Throws naming the path and the fix.
 *
 * @example
 * ```ts
 * const tok = await loadLocalTokenizer("/models/Qwen2.5-1.5B-Instruct");
 * tok.encode("Hello world"); // [9707, 1879]
 * ```
 */
export function loadLocalTokenizer(path: string): Promise<LocalTokenizer> {
  let p = cache.get(path);
  if (!p) {
    p = (async () => {
      let file = path;
      try {
        if ((await Deno.stat(path)).isDirectory) file = join(path, "tokenizer.json");
      } catch {
        throw new Error(
          `${TOKENIZER_ENV}: '${path}' does not exist. Point it at a tokenizer.json or at the model's folder.`,
        );
      }
      const json = await readJson(file, "tokenizer");
      let config: Record<string, unknown> = {};
      try {
        config = await readJson(join(dirname(file), "tokenizer_config.json"), "tokenizer config");
      } catch { /* optional */ }
      let tok: Tokenizer;
      try {
        tok = new Tokenizer(json, config);
      } catch (e) {
        throw new Error(
          `Cannot build a tokenizer from ${file}: ${
            (e as Error).message
          }. Is it a Hugging Face tokenizer.json?`,
        );
      }
      return {
        source: file,
        encode: (text: string) => [...tok.encode(text, { add_special_tokens: false }).ids].map(Number),
      };
    })();
    cache.set(path, p);
    p.catch(() => cache.delete(path));
  }
  return p;
}

/**
 * The local tokenizer for `model`, if the lab can get one: `SERVELAB_TOKENIZER`, else the model's folder
 * when `model` is a local path with a tokenizer.json; undefined otherwise.
 *
 * @example
 * ```ts
 * const tok = await localTokenizerFor("Qwen/Qwen2.5-1.5B-Instruct"); // undefined unless SERVELAB_TOKENIZER is set
 * ```
 */
export async function localTokenizerFor(
  model: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<LocalTokenizer | undefined> {
  const named = env[TOKENIZER_ENV];
  if (named) return await loadLocalTokenizer(named);
  try {
    if ((await Deno.stat(join(model, "tokenizer.json"))).isFile) return await loadLocalTokenizer(model);
  } catch { /* not a local model folder */ }
  return undefined;
}
