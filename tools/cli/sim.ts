/**
 * `./servelab sim`: the embedded vLLM-compatible engine, with `vllm serve`'s command line.
 *
 * ```
 * ./servelab sim serve MODEL [vllm serve flags] [--sim-gpu NAME] [--sim-startup-time-scale X]
 *                      [--sim-ground-truth | --no-sim-ground-truth] [--sim-crash-after-requests N]
 *                      [--sim-stall-after-tokens N] [--sim-http-500-rate F] [--sim-drop-connection-rate F]
 *                      [--sim-slow-start-s S]
 * ```
 *
 * Prints vLLM's startup log (phases simulated, waits scaled), serves on 127.0.0.1 until Ctrl-C or SIGTERM.
 * Exit codes: 0 after a signal, 1 when the model does not fit or the engine cannot start, 2 for bad flags.
 * @example
 * ```ts
 * import { main } from "./sim.ts";
 * await main(["serve", "Qwen/Qwen2.5-1.5B-Instruct", "--port", "8000", "--max-model-len", "4096"]);
 * ```
 * @module
 */
import { listGpus, listModels, simCli } from "../../lib/mod.ts";

const USAGE = `Usage: servelab sim serve MODEL [vllm serve flags] [--sim-* flags]

Runs the embedded engine: a simulated vLLM (V1, 0.11.0 API and log lines) on a catalog model and GPU
profile, serving on 127.0.0.1. vLLM flags: --port, --max-model-len, --[no-]enable-prefix-caching,
--enable-prompt-tokens-details, --gpu-memory-utilization, --kv-cache-memory-bytes, --max-num-seqs,
--max-num-batched-tokens, --block-size, --enforce-eager, --seed, --served-model-name, --api-key.
Sim flags: --sim-gpu NAME, --sim-startup-time-scale X (0 < X <= 1), --[no-]sim-ground-truth, and the faults
--sim-crash-after-requests N, --sim-stall-after-tokens N, --sim-http-500-rate F,
--sim-drop-connection-rate F, --sim-slow-start-s S.`;

/**
 * Runs `servelab sim ...`; resolves with the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["serve", "qwen2.5-1.5b", "--port", "8000"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  // --help anywhere: a command copied from a page, with --help added, shows the usage instead of serving.
  if (args.length === 0 || args.includes("--help") || args.includes("-h")) {
    console.log(`${USAGE}\n\nModels: ${listModels().join(", ")}\nGPUs: ${listGpus().join(", ")}`);
    return args.length === 0 ? 2 : 0;
  }
  return await simCli(args);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
