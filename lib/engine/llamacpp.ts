/**
 * The `llamacpp` engine kind: `ServeConfig` -> llama.cpp's `llama-server` flags, and which executable to
 * run (docs/adr/0012-llamacpp-server.md, "llamacpp engine kind").
 *
 * llama.cpp's memory model differs from vLLM's: one context of `-c` tokens, split evenly over `-np` slots
 * (the concurrent sequences), allocated at start; no paged blocks, no pool size of its own. So:
 * - `max_num_seqs` -> `-np` (default {@link LLAMACPP_DEFAULT_SLOTS}); `max_model_len` -> `-c max_model_len x
 *   slots` (each slot holds one request of max_model_len tokens); without it `-c 0` (the model's trained
 *   context, shared by the slots);
 * - `enable_prefix_caching: false` -> `--no-cache-prompt` (no reuse of a slot's cached prompt);
 * - always `--cache-ram 0` (no host-RAM prompt cache beside the slots), `--slots` and `--slot-save-path`
 *   (GET /slots, POST /slots/N?action=erase; nothing is saved unless asked): then erasing every slot empties
 *   every cache, the lab's prefix-cache reset;
 * - `max_num_batched_tokens` -> `-b` (the logical batch); `seed` -> `-s`; `cpus` -> `-t` (threads = CPUs);
 * - `gpu_memory_utilization`, `kv_cache_memory_bytes`, `block_size`, `tensor_parallel_size` > 1 and a
 *   `dtype` other than auto/float32 have no llama-server equivalent: asking for them is an error, not a
 *   silent no-op. `enforce_eager` and `enable_prompt_tokens_details` need nothing (llama.cpp has no graph
 *   compile and always reports cached tokens).
 * - `-lv 4`: the info lines (model buffer, context, KV cache) the startup parser reads.
 * @module
 */
import type { ServeConfig } from "./config.ts";
import { cpuCount } from "./cpus.ts";
import { servedName } from "./config.ts";

/** Where llama-server may save slots (the lab never asks it to; the flag enables the erase action). */
export const LLAMACPP_SLOT_DIR = "/tmp/servelab-llamacpp-slots";

/** Slots (`-np`) when `max_num_seqs` is not given. */
export const LLAMACPP_DEFAULT_SLOTS = 4;

/**
 * llama-server's arguments for a config whose port is resolved. Throws, naming the field and the fix, for a
 * field llama.cpp cannot honour.
 *
 * @example
 * ```ts
 * llamaServerArgs(parseServeConfig({ engine: "llamacpp", model: "tiny.gguf", port: 8080, max_model_len: 4096 }));
 * // ["-m", "tiny.gguf", "--host", "127.0.0.1", "--port", "8080", "-a", "tiny.gguf", "-np", "4", "-c", "16384", ...]
 * ```
 */
export function llamaServerArgs(c: ServeConfig): string[] {
  const bad: string[] = [];
  if (c.gpu_memory_utilization !== undefined) bad.push("gpu_memory_utilization (--gpu-memory-utilization)");
  if (c.kv_cache_memory_bytes !== undefined) bad.push("kv_cache_memory_bytes (--kv-cache-memory-bytes)");
  if (c.block_size !== undefined) bad.push("block_size (--block-size)");
  if (c.tensor_parallel_size > 1) bad.push("tensor_parallel_size > 1");
  if (!["auto", "float32"].includes(c.dtype)) bad.push(`dtype '${c.dtype}'`);
  if (bad.length) {
    throw new Error(
      `Cannot start engine 'llamacpp': llama-server has no equivalent of ${
        bad.join(", ")
      }. llama.cpp sizes ` +
        "its KV cache from max_model_len x max_num_seqs (-c, -np) and serves the GGUF's own tensor types; " +
        "drop those settings for this engine.",
    );
  }
  if (!/\.gguf$/i.test(c.model)) {
    throw new Error(
      `Cannot start engine 'llamacpp': model '${c.model}' is not a .gguf file. llama-server serves GGUF; ` +
        "write the tiny model as one with `./servelab tiny-model DIR --gguf` and pass DIR/tiny-llama.gguf.",
    );
  }
  const slots = c.max_num_seqs ?? LLAMACPP_DEFAULT_SLOTS;
  const out = [
    "-m",
    c.model,
    "--host",
    c.host,
    "--port",
    String(c.port),
    "-a",
    servedName(c),
    "-np",
    String(slots),
    "-c",
    String(c.max_model_len !== undefined ? c.max_model_len * slots : 0),
    "--metrics",
    "--slots",
    "--slot-save-path",
    LLAMACPP_SLOT_DIR,
    "--cache-ram",
    "0",
    "-lv",
    "4",
    "-s",
    String(c.seed),
  ];
  if (c.cpus !== undefined) out.push("-t", String(cpuCount(c.cpus)));
  if (c.max_num_batched_tokens !== undefined) out.push("-b", String(c.max_num_batched_tokens));
  if (!c.enable_prefix_caching) out.push("--no-cache-prompt");
  out.push(...c.extra_args);
  return out;
}

/**
 * The llama-server command: `SERVELAB_LLAMA_SERVER`, else the one tools/real/llamacpp_install.sh wrote
 * (`.servelab/llamacpp/bin/llama-server`, then `llama-server-xllamacpp`), else `llama-server` on PATH.
 */
export function llamaServerCommand(root: string): string {
  const given = Deno.env.get("SERVELAB_LLAMA_SERVER");
  if (given) return given;
  for (const name of ["llama-server", "llama-server-xllamacpp"]) {
    const p = `${root}/.servelab/llamacpp/bin/${name}`;
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not installed that way */ }
  }
  return "llama-server";
}
