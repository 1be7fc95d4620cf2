/**
 * `./servelab tiny-model DIR`: writes the lab's tiny Llama-architecture model (random weights from a
 * seed, the lab's own byte-level BPE tokenizer) as a Hugging Face model folder, for real engines to serve.
 *
 * ```
 * ./servelab tiny-model DIR [--seed N] [--layers N] [--hidden N] [--vocab N] [--max-len N] [--gguf] [--json]
 * ```
 * @example
 * ```ts
 * import { main } from "./tiny_model.ts";
 * await main([".servelab/tiny-model", "--seed", "0"]);
 * ```
 * @module
 */
import { type TinyModelOptions, tinyModelSpec, writeTinyModel } from "../../lib/mod.ts";
import { writeTinyGguf } from "../../lib/tinymodel/mod.ts";

const USAGE =
  `Usage: servelab tiny-model DIR [--seed N] [--layers N] [--hidden N] [--vocab N] [--max-len N] [--gguf] [--json]

Writes a tiny LlamaForCausalLM (default: hidden 256, 2 layers, 4 heads, 2 KV heads, head_dim 64,
vocab 512, float32) with random weights from --seed (default 0) into DIR: config.json, model.safetensors,
tokenizer.json (byte-level BPE), tokenizer_config.json (ChatML template), generation_config.json.
Nothing is downloaded; the same seed writes the same bytes. --gguf also writes DIR/tiny-llama.gguf, the
same model for llama.cpp (./servelab run --engine llamacpp --model DIR/tiny-llama.gguf). Serve it with, e.g.:
  vllm serve DIR --dtype float32 --enforce-eager`;

const FLAGS: Record<string, keyof TinyModelOptions> = {
  "--seed": "seed",
  "--layers": "num_hidden_layers",
  "--hidden": "hidden_size",
  "--vocab": "vocab_size",
  "--max-len": "max_position_embeddings",
};

/**
 * Runs `servelab tiny-model ...`; resolves with the exit code (2 for bad flags).
 *
 * @example
 * ```ts
 * Deno.exit(await main(["/tmp/tiny"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const opts: Record<string, number> = {};
  let dir: string | undefined;
  let json = false;
  let gguf = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") json = true;
    else if (a === "--gguf") gguf = true;
    else if (a in FLAGS) {
      const v = Number(args[++i]);
      if (!Number.isInteger(v) || v < 0) {
        console.error(`servelab tiny-model: ${a} needs a whole number, got '${args[i] ?? ""}'.\n\n${USAGE}`);
        return 2;
      }
      opts[FLAGS[a]] = v;
    } else if (!a.startsWith("--") && dir === undefined) dir = a;
    else {
      console.error(`servelab tiny-model: unknown argument '${a}'.\n\n${USAGE}`);
      return 2;
    }
  }
  if (dir === undefined) {
    console.error(
      `servelab tiny-model: DIR is missing; name the folder to write the model into.\n\n${USAGE}`,
    );
    return 2;
  }
  let spec;
  try {
    spec = tinyModelSpec(opts);
  } catch (e) {
    console.error(`servelab tiny-model: ${(e as Error).message}`);
    return 2;
  }
  const out = await writeTinyModel(dir, spec);
  if (gguf) {
    const bytes = await writeTinyGguf(`${out.dir}/tiny-llama.gguf`, spec);
    out.files.push("tiny-llama.gguf");
    out.total_bytes += bytes;
  }
  if (json) console.log(JSON.stringify({ ...out, spec }));
  else {
    console.log(
      `wrote ${out.dir}: ${out.files.join(", ")} (${(out.total_bytes / 2 ** 20).toFixed(1)} MiB, ` +
        `${out.parameters.toLocaleString("en-US")} parameters, seed ${spec.seed})`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
