/**
 * `./servelab plan`: KV capacity of a model on a device, computed from the catalogs and vLLM's memory
 * arithmetic (lib/sim/memory.ts), and the answer to "N concurrent chats of L tokens: fits or not".
 *
 * ```
 * ./servelab plan --model M [--gpu G] [--util F] [--max-model-len L] [--kv-cache-memory-bytes B]
 *                 [--block-size N] [--max-num-seqs N] [--max-num-batched-tokens N] [--tp N] [--kv-cache-dtype fp8]
 *                 [--concurrent N --tokens L] [--json]
 * ```
 *
 * Lengths accept vLLM's suffixes (`4k` = 4000, `4K` = 4096); bytes accept `4G` = 4 GiB, `4g` = 4e9.
 * @example
 * ```ts
 * import { main } from "./plan.ts";
 * await main(["--model", "qwen2.5-1.5b", "--gpu", "L4", "--concurrent", "8", "--tokens", "4K"]);
 * ```
 * @module
 */
import {
  type CapacityPlan,
  type ConcurrencyAnswer,
  fitsConcurrent,
  listGpus,
  listModels,
  loadModel,
  planCapacity,
} from "../../lib/mod.ts";
import { catalogProblems } from "../../lib/sim/mod.ts";

const GiB = 2 ** 30;

const USAGE =
  `Usage: servelab plan --model M [--gpu G] [--util F] [--max-model-len L] [--kv-cache-memory-bytes B]
                     [--block-size N] [--max-num-seqs N] [--max-num-batched-tokens N] [--tp N]
                     [--kv-cache-dtype fp8] [--concurrent N --tokens L] [--json]

Prints KV bytes per token, weights, KV tokens and max concurrency for a model on a device, computed from
the model (data/models, data/gpus) and vLLM's memory arithmetic, not measured. With --concurrent and
--tokens, answers whether N concurrent requests of L tokens fit, with what headroom.
Lengths take vLLM's suffixes (4k = 4000, 4K = 4096); bytes take 4G = 4 GiB, 4g = 4e9.`;

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** vLLM's human-readable integers: k/m/g are powers of 1000, K/M/G powers of 1024. */
function parseHuman(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(raw);
  if (!m) {
    throw new UsageError(`${flag} needs a whole number (suffixes k, K, m, M, g, G allowed), got '${raw}'`);
  }
  const mult: Record<string, number> = { "": 1, k: 1e3, K: 2 ** 10, m: 1e6, M: 2 ** 20, g: 1e9, G: 2 ** 30 };
  const v = Number(m[1]) * mult[m[2]];
  if (!Number.isInteger(v) || v <= 0) {
    throw new UsageError(`${flag} must be a positive whole number, got '${raw}'`);
  }
  return v;
}

class UsageError extends Error {}

interface Args {
  model?: string;
  gpu: string;
  util?: number;
  max_model_len?: number;
  kv_cache_memory_bytes?: number;
  block_size?: number;
  max_num_seqs?: number;
  max_num_batched_tokens?: number;
  tp: number;
  kv_cache_dtype?: string;
  concurrent?: number;
  tokens?: number;
  json: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { gpu: "H100-80GB", tp: 1, json: false, help: false };
  const args = argv.flatMap((x) =>
    x.startsWith("--") && x.includes("=") ? [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)] : [x]
  );
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--model":
        a.model = value();
        break;
      case "--gpu":
        a.gpu = value();
        break;
      case "--util":
      case "--gpu-memory-utilization": {
        const raw = value();
        const v = Number(raw);
        if (!(v > 0 && v <= 1)) throw new UsageError(`${flag} needs a fraction in (0, 1], got '${raw}'`);
        a.util = v;
        break;
      }
      case "--max-model-len":
        a.max_model_len = parseHuman(flag, value());
        break;
      case "--kv-cache-memory-bytes":
        a.kv_cache_memory_bytes = parseHuman(flag, value());
        break;
      case "--block-size":
        a.block_size = parseHuman(flag, value());
        break;
      case "--max-num-batched-tokens":
        a.max_num_batched_tokens = parseHuman(flag, value());
        break;
      case "--max-num-seqs":
        a.max_num_seqs = parseHuman(flag, value());
        break;
      case "--tp":
      case "--tensor-parallel-size":
        a.tp = parseHuman(flag, value());
        break;
      case "--kv-cache-dtype":
        a.kv_cache_dtype = value();
        break;
      case "--concurrent":
        a.concurrent = parseHuman(flag, value());
        break;
      case "--tokens":
        a.tokens = parseHuman(flag, value());
        break;
      case "--json":
        a.json = true;
        break;
      case "-h":
      case "--help":
        a.help = true;
        break;
      default:
        throw new UsageError(`Unknown flag '${flag}'`);
    }
  }
  if (!a.help && !a.model) throw new UsageError(`--model is required (known: ${listModels().join(", ")})`);
  if ((a.concurrent === undefined) !== (a.tokens === undefined)) {
    throw new UsageError("--concurrent and --tokens go together (e.g. --concurrent 8 --tokens 4K)");
  }
  return a;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

/** A "fits" answer with less headroom than this fraction of the pool is near the limit. */
export const NEAR_LIMIT_FRACTION = 0.05;

/** How close a "fits" answer is to the limit, and the estimates it rests on; undefined when not near it. */
export interface NearLimit {
  headroom_fraction: number;
  headroom_bytes: number;
  activation_bytes: number;
  non_torch_bytes: number;
  /** The headroom as a fraction of activation + non-torch: the error in them that flips the answer. */
  flips_at_fraction: number;
}

/**
 * Near-limit details of a "fits" answer (issue 20): the headroom and the estimated, unmeasured memory it
 * rests on. Undefined when it does not fit, has room, or the pool was set explicitly (no estimate involved).
 *
 * @example
 * ```ts
 * nearLimit(plan, answer)?.flips_at_fraction; // 0.21
 * ```
 */
export function nearLimit(p: CapacityPlan, a: ConcurrencyAnswer): NearLimit | undefined {
  if (!a.fits || a.headroom_fraction === undefined || a.headroom_fraction >= NEAR_LIMIT_FRACTION) {
    return undefined;
  }
  if (p.settings.kv_cache_memory_bytes !== undefined) return undefined;
  const m = p.memory;
  const non_torch_bytes = Math.max(
    0,
    m.requested_bytes - p.weights_bytes - m.activation_bytes - m.available_kv_bytes,
  );
  const headroom_bytes = a.headroom_tokens * p.kv_bytes_per_token;
  const rest = m.activation_bytes + non_torch_bytes;
  return {
    headroom_fraction: a.headroom_fraction,
    headroom_bytes,
    activation_bytes: m.activation_bytes,
    non_torch_bytes,
    flips_at_fraction: rest > 0 ? headroom_bytes / rest : 0,
  };
}

/** The human-readable report: every line labels its numbers as computed from the model. */
export function formatPlan(p: CapacityPlan, answer?: ConcurrencyAnswer): string[] {
  const m = p.memory;
  const s = p.settings;
  const model = loadModel(p.model);
  const kv_heads = Math.max(1, Math.floor(model.num_kv_heads / s.tensor_parallel_size));
  const lines = [
    `servelab plan (computed from the model and vLLM's memory arithmetic, not measured)`,
    `  model                ${p.model}`,
    `  device               ${p.gpu}: ${gib(m.total_bytes)} total, ` +
    (s.kv_cache_memory_bytes !== undefined
      ? `KV pool set explicitly`
      : `gpu_memory_utilization ${s.gpu_memory_utilization}`) +
    (s.tensor_parallel_size > 1 ? `, tensor_parallel_size ${s.tensor_parallel_size} (per GPU below)` : ""),
    `  KV bytes per token   ${int(p.kv_bytes_per_token)} B = 2 (K, V) x ${model.num_layers} layers x ` +
    `${kv_heads} KV heads x ${model.head_dim} head_dim x ${s.kv_dtype_bytes} B`,
    `  weights              ${gib(p.weights_bytes)}`,
    `  activation peak      ${gib(m.activation_bytes)} (estimate for ${
      int(s.max_num_batched_tokens)
    } batched tokens)`,
    `  KV pool              ${gib(Math.max(0, m.available_kv_bytes))} = ${
      int(p.num_gpu_blocks)
    } blocks of ${p.block_size} tokens`,
    `  KV tokens            ${int(p.kv_cache_tokens)}`,
    `  max concurrency      ${p.max_concurrency.toFixed(2)}x at max_model_len ${int(p.max_model_len)}`,
    `  largest max_model_len that fits one request: ${int(p.largest_max_model_len)}` +
    (p.largest_max_model_len === model.max_position_embeddings
      ? " (the model's max_position_embeddings)"
      : ""),
  ];
  if (p.fit_error) lines.push(`  the engine would not start: ${p.fit_error.message ?? ""}`);
  if (answer) {
    const a = answer;
    lines.push(
      ``,
      `${a.concurrent} concurrent requests of ${int(a.tokens_per_request)} tokens: ${
        a.fits ? "FITS" : "DOES NOT FIT"
      }`,
      `  KV tokens needed     ${
        int(a.kv_tokens_needed)
      } (${a.concurrent} x ${a.blocks_per_request} blocks of ${p.block_size})`,
      `  KV tokens usable     ${int(a.kv_tokens_usable)}`,
      `  headroom             ${int(a.headroom_tokens)} tokens` +
        (a.headroom_fraction !== undefined
          ? ` (${(a.headroom_fraction * 100).toFixed(1)}% of the pool)`
          : ""),
      `  at this length       up to ${int(a.max_concurrent_at_length)} requests at once`,
      `  largest safe max_model_len for ${a.concurrent} at once: ${int(a.largest_safe_max_model_len)}`,
    );
    if (a.gpu_memory_utilization_needed !== undefined) {
      lines.push(`  gpu_memory_utilization needed: ${a.gpu_memory_utilization_needed.toFixed(2)}`);
    }
    const near = nearLimit(p, a);
    if (near) {
      lines.push(
        `  NEAR THE LIMIT: ${(near.headroom_fraction * 100).toFixed(1)}% headroom (${
          gib(near.headroom_bytes)
        }), ` +
          `within ${
            (NEAR_LIMIT_FRACTION * 100).toFixed(0)
          }% of the pool. The pool is an estimate resting on the`,
        `    activation peak (${gib(near.activation_bytes)}, estimated for ${
          int(s.max_num_batched_tokens)
        } batched ` +
          `tokens) and non-torch memory (${
            gib(near.non_torch_bytes)
          }: CUDA context, allocator), neither measured;`,
        `    if they are ${gib(near.headroom_bytes)} (${
          (near.flips_at_fraction * 100).toFixed(0)
        }% of their sum) larger on the real engine, it does not fit.`,
        `    Confirm with Tier 3a or vLLM's startup log ("Available KV cache memory").`,
      );
    }
    for (const r of a.reasons) lines.push(`  - ${r}`);
    lines.push(`  (each request holds its own blocks; shared prefixes would need fewer)`);
  }
  return lines;
}

/**
 * Runs the `plan` verb. Returns the exit code: 0 on an answer (fits or not), 1 when planning fails
 * (unknown model or device, a max_model_len above the model's limit), 2 on bad arguments.
 */
export async function main(
  args: string[],
  io: Io = { out: console.log, err: console.error },
): Promise<number> {
  await Promise.resolve();
  for (const p of catalogProblems()) io.err(`servelab plan: warning: ${p.error} Skipped it.`);
  let a: Args;
  try {
    a = parseArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`servelab plan: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (a.help) {
    io.out(`${USAGE}\n\nModels: ${listModels().join(", ")}\nDevices: ${listGpus().join(", ")}`);
    return 0;
  }
  const opts = {
    model: a.model!,
    gpu: a.gpu,
    gpu_memory_utilization: a.util,
    max_model_len: a.max_model_len,
    kv_cache_memory_bytes: a.kv_cache_memory_bytes,
    block_size: a.block_size,
    max_num_seqs: a.max_num_seqs,
    max_num_batched_tokens: a.max_num_batched_tokens,
    tensor_parallel_size: a.tp,
    extra_args: a.kv_cache_dtype ? ["--kv-cache-dtype", a.kv_cache_dtype] : [],
  };
  try {
    const plan = planCapacity(opts);
    const answer = a.concurrent !== undefined
      ? fitsConcurrent({ ...opts, concurrent: a.concurrent, tokens_per_request: a.tokens! })
      : undefined;
    if (a.json) {
      const { plan: _dup, ...rest } = answer ?? { plan };
      const near = answer ? nearLimit(plan, answer) : undefined;
      io.out(
        JSON.stringify(
          { source: "model", plan, answer: answer ? { ...rest, near_limit: near } : undefined },
          null,
          2,
        ),
      );
    } else {
      for (const line of formatPlan(plan, answer)) io.out(line);
    }
    return 0;
  } catch (e) {
    // The planner's message is shared with the embedded engine, whose flag is --sim-gpu; here it is --gpu.
    io.err(`servelab plan: ${(e as Error).message.replaceAll("--sim-gpu", "--gpu")}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
