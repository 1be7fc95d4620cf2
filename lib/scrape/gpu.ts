/**
 * GPU memory from `nvidia-smi`, where it is on PATH: each GPU's memory, utilization and driver, and the GPU
 * memory of each compute process. No GPU (no `nvidia-smi`, or no driver) is `undefined`, not an error.
 *
 * Units are nvidia-smi's with `nounits`: memory in MiB, utilization in percent. A field nvidia-smi cannot
 * report (`[N/A]`, `[Not Supported]`, e.g. utilization under MIG) is undefined.
 *
 * The entry point is `gpuSnapshot()`, not `gpuInfo()`: lib/run exports a `gpuInfo()` (the manifest's GPU list)
 * and both areas share the lib/mod.ts barrel.
 * @module
 */

/** Runs `nvidia-smi` with `args`. Throws `Deno.errors.NotFound` when the command is not on PATH. */
export type NvidiaSmiRunner = (
  command: string,
  args: string[],
  signal: AbortSignal,
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** One GPU as `nvidia-smi --query-gpu` reports it. */
export interface NvidiaGpu {
  index: number;
  name: string;
  uuid: string;
  memory_total_mib?: number;
  memory_used_mib?: number;
  utilization_gpu_pct?: number;
  driver_version?: string;
}

/** One compute process as `nvidia-smi --query-compute-apps` reports it. */
export interface GpuProcessMemory {
  pid: number;
  gpu_uuid?: string;
  used_memory_mib?: number;
}

/** What {@link gpuSnapshot} returns. */
export interface GpuSnapshot {
  gpus: NvidiaGpu[];
  /** Compute processes and their memory; undefined when nvidia-smi could not list them. */
  processes?: GpuProcessMemory[];
}

/** Options of {@link gpuSnapshot}. */
export interface GpuQueryOptions {
  /** How to run nvidia-smi (default: Deno.Command); tests pass recorded outputs. */
  run?: NvidiaSmiRunner;
  /** The command (default "nvidia-smi"). */
  command?: string;
  /** Kill nvidia-smi after this long (default 10000). */
  timeout_ms?: number;
  /** Also list compute processes (default true). */
  processes?: boolean;
  /** Aborts the query early. */
  signal?: AbortSignal;
}

/** The `--query-gpu` fields, in the order {@link parseNvidiaSmiGpus} expects. */
export const GPU_QUERY_FIELDS = [
  "index",
  "name",
  "uuid",
  "memory.total",
  "memory.used",
  "utilization.gpu",
  "driver_version",
] as const;

/** The `--query-compute-apps` fields, in the order {@link parseNvidiaSmiApps} expects. */
export const APPS_QUERY_FIELDS = ["pid", "gpu_uuid", "used_memory"] as const;

const FORMAT = "--format=csv,noheader,nounits";

/** The default runner: `Deno.Command`, killed when `signal` aborts. */
export const denoNvidiaSmiRunner: NvidiaSmiRunner = async (command, args, signal) => {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", signal }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
};

/**
 * Queries the GPUs. Undefined when there is no GPU to see: nvidia-smi is not on PATH, or it exits with an
 * error (no driver, no device). Throws only when nvidia-smi runs but hangs past `timeout_ms` or prints
 * output that cannot be parsed.
 *
 * @example
 * ```ts
 * import { gpuSnapshot } from "./gpu.ts";
 * const gpu = await gpuSnapshot();
 * gpu === undefined ? "no GPU" : `${gpu.gpus[0].name}, ${gpu.gpus[0].memory_used_mib} MiB used`;
 * ```
 */
export async function gpuSnapshot(opts: GpuQueryOptions = {}): Promise<GpuSnapshot | undefined> {
  const gpus = await queryGpus(opts);
  if (gpus === undefined || gpus.length === 0) return undefined;
  if (opts.processes === false) return { gpus };
  const apps = await runNvidiaSmi([`--query-compute-apps=${APPS_QUERY_FIELDS.join(",")}`, FORMAT], opts);
  return { gpus, processes: apps === undefined ? undefined : parseNvidiaSmiApps(apps) };
}

/** The GPUs only (no process list); undefined when there is no GPU to see. */
export async function queryGpus(opts: GpuQueryOptions = {}): Promise<NvidiaGpu[] | undefined> {
  const stdout = await runNvidiaSmi([`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, FORMAT], opts);
  return stdout === undefined ? undefined : parseNvidiaSmiGpus(stdout);
}

/** stdout, or undefined when nvidia-smi is missing or fails (no GPU); throws on a timeout. */
async function runNvidiaSmi(args: string[], opts: GpuQueryOptions): Promise<string | undefined> {
  const command = opts.command ?? "nvidia-smi";
  const timeout_ms = opts.timeout_ms ?? 10_000;
  const timeout = AbortSignal.timeout(timeout_ms);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    const out = await (opts.run ?? denoNvidiaSmiRunner)(command, args, signal);
    if (timeout.aborted) throw new Error("timed out");
    return out.code === 0 ? out.stdout : undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    if (timeout.aborted) {
      throw new Error(
        `Cannot query GPUs: ${command} ${args[0]} did not finish within ${timeout_ms} ms. ` +
          "Check the driver (nvidia-smi hangs when the GPU is in a bad state) or raise timeout_ms.",
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Parses `nvidia-smi --query-gpu=index,name,uuid,memory.total,memory.used,utilization.gpu,driver_version
 * --format=csv,noheader,nounits`: one GPU per line.
 *
 * @example
 * ```ts
 * import { parseNvidiaSmiGpus } from "./gpu.ts";
 * parseNvidiaSmiGpus("0, NVIDIA L4, GPU-5e1c, 23034, 17015, 41, 550.54.15\n");
 * // [{index: 0, name: "NVIDIA L4", uuid: "GPU-5e1c", memory_total_mib: 23034, memory_used_mib: 17015, ...}]
 * ```
 */
export function parseNvidiaSmiGpus(stdout: string): NvidiaGpu[] {
  return csvLines(stdout).map(({ fields, line, lineNo }) => {
    const n = fields.length;
    if (n < GPU_QUERY_FIELDS.length) {
      throw parseError(
        lineNo,
        line,
        `expected ${GPU_QUERY_FIELDS.length} fields (${GPU_QUERY_FIELDS.join(", ")})`,
      );
    }
    const index = field(fields[0], lineNo, line);
    if (index === undefined) throw parseError(lineNo, line, "the GPU index is missing");
    return {
      index,
      // A name never holds a comma in practice; if one does, the extra fields belong to it.
      name: fields.slice(1, n - 5).join(", "),
      uuid: fields[n - 5],
      memory_total_mib: field(fields[n - 4], lineNo, line),
      memory_used_mib: field(fields[n - 3], lineNo, line),
      utilization_gpu_pct: field(fields[n - 2], lineNo, line),
      driver_version: notApplicable(fields[n - 1]) ? undefined : fields[n - 1],
    };
  });
}

/**
 * Parses `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits`.
 * Empty output (no compute process) is an empty list.
 *
 * @example
 * ```ts
 * import { parseNvidiaSmiApps } from "./gpu.ts";
 * parseNvidiaSmiApps("4242, GPU-5e1c, 16384\n"); // [{pid: 4242, gpu_uuid: "GPU-5e1c", used_memory_mib: 16384}]
 * ```
 */
export function parseNvidiaSmiApps(stdout: string): GpuProcessMemory[] {
  return csvLines(stdout).flatMap(({ fields, line, lineNo }) => {
    if (!/^\d+$/.test(fields[0])) return []; // e.g. "No running processes found"
    if (fields.length < APPS_QUERY_FIELDS.length) {
      throw parseError(
        lineNo,
        line,
        `expected ${APPS_QUERY_FIELDS.length} fields (${APPS_QUERY_FIELDS.join(", ")})`,
      );
    }
    return [{
      pid: Number(fields[0]),
      gpu_uuid: notApplicable(fields[1]) ? undefined : fields[1],
      used_memory_mib: field(fields[2], lineNo, line),
    }];
  });
}

function csvLines(stdout: string): { fields: string[]; line: string; lineNo: number }[] {
  return stdout.split("\n").map((raw, i) => ({ line: raw.trim(), lineNo: i + 1 }))
    .filter(({ line }) => line !== "")
    .map(({ line, lineNo }) => ({ fields: line.split(",").map((f) => f.trim()), line, lineNo }));
}

/** "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]" ... */
function notApplicable(value: string): boolean {
  return value === "" || value === "N/A" || /^\[.*\]$/.test(value);
}

function field(value: string, lineNo: number, line: string): number | undefined {
  if (notApplicable(value)) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw parseError(lineNo, line, `"${value}" is not a number`);
  return n;
}

function parseError(lineNo: number, line: string, problem: string): Error {
  return new Error(
    `Cannot parse nvidia-smi output at line ${lineNo} (${JSON.stringify(line)}): ${problem}. ` +
      "Query with --format=csv,noheader,nounits and the fields in the order servelab asks for.",
  );
}
