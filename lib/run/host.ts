/**
 * Facts about the machine and the code a run used: CPU, memory, NUMA nodes, transparent huge pages,
 * OS and kernel, GPUs (from `nvidia-smi`), the servelab version and git commit, input file hashes.
 * Every probe is best effort: what cannot be read stays undefined rather than guessed.
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type GpuQueryOptions, type NvidiaGpu, queryGpus } from "../scrape/gpu.ts";

/** The repository root (the folder holding deno.json), derived from this module's location. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The host a run ran on. */
export const HostInfo = z.object({
  cpu_model: z.string().optional(),
  cores: z.number().int().positive(),
  memory_gib: z.number().positive().optional(),
  numa_nodes: z.number().int().positive().optional(),
  /** The selected mode of /sys/kernel/mm/transparent_hugepage/enabled: "always", "madvise" or "never". */
  transparent_hugepages: z.string().optional(),
  os: z.string().optional(),
  kernel: z.string().optional(),
  arch: z.string(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** GPUs seen by `nvidia-smi`, or none. */
export const GpuInfo = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({
    kind: z.literal("nvidia"),
    driver_version: z.string().optional(),
    devices: z.array(z.object({ name: z.string(), memory_mib: z.number().optional() })),
  }),
]);
export type GpuInfo = z.infer<typeof GpuInfo>;

/** The servelab code a run used. */
export const CodeInfo = z.object({
  version: z.string(),
  git_commit: z.string().optional(),
  /** True when the working tree differed from the commit. */
  git_dirty: z.boolean().optional(),
});
export type CodeInfo = z.infer<typeof CodeInfo>;

/** One input file and its content hash. */
export const InputHash = z.object({ path: z.string(), sha256: z.string(), bytes: z.number().int() });
export type InputHash = z.infer<typeof InputHash>;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** The bracketed choice of a sysfs "a [b] c" line: "madvise" from "always [madvise] never". */
export function sysfsChoice(text: string | undefined): string | undefined {
  return text?.match(/\[([^\]]+)\]/)?.[1];
}

/**
 * Reads the host facts (Linux paths; elsewhere the fields stay undefined).
 *
 * @example
 * ```ts
 * const host = await hostInfo(); // { cpu_model: "AMD EPYC ...", cores: 2, numa_nodes: 1, ... }
 * ```
 */
export async function hostInfo(): Promise<HostInfo> {
  const cpuinfo = await readText("/proc/cpuinfo");
  const cpu_model = cpuinfo?.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim();
  let memory_gib: number | undefined;
  try {
    memory_gib = Math.round((Deno.systemMemoryInfo().total / 2 ** 30) * 10) / 10;
  } catch { /* not available */ }
  let numa_nodes: number | undefined;
  try {
    let n = 0;
    for await (const e of Deno.readDir("/sys/devices/system/node")) if (/^node\d+$/.test(e.name)) n++;
    numa_nodes = n || undefined;
  } catch { /* no sysfs */ }
  const osRelease = await readText("/etc/os-release");
  const os = osRelease?.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1];
  let kernel: string | undefined;
  try {
    kernel = Deno.osRelease();
  } catch {
    kernel = (await run("uname", ["-r"]))?.trim();
  }
  return {
    cpu_model,
    cores: navigator.hardwareConcurrency,
    memory_gib,
    numa_nodes,
    transparent_hugepages: sysfsChoice(await readText("/sys/kernel/mm/transparent_hugepage/enabled")),
    os,
    kernel,
    arch: Deno.build.arch,
  };
}

/**
 * The manifest's view of the GPUs (lib/scrape's `nvidia-smi` query), or `{ kind: "none" }` when
 * nvidia-smi is absent or fails.
 *
 * @example
 * ```ts
 * gpuInfoFrom([{ index: 0, name: "NVIDIA L4", uuid: "GPU-1", memory_total_mib: 23034, driver_version: "550.54.15" }]);
 * // { kind: "nvidia", driver_version: "550.54.15", devices: [{ name: "NVIDIA L4", memory_mib: 23034 }] }
 * ```
 */
export function gpuInfoFrom(gpus: readonly NvidiaGpu[] | undefined): GpuInfo {
  if (!gpus || gpus.length === 0) return { kind: "none" };
  return {
    kind: "nvidia",
    driver_version: gpus[0].driver_version,
    devices: gpus.map((g) => ({ name: g.name, memory_mib: g.memory_total_mib })),
  };
}

/**
 * The GPUs `nvidia-smi` reports, or `{ kind: "none" }` when it is absent or fails.
 *
 * @example
 * ```ts
 * (await gpuInfo()).kind; // "none" on a laptop
 * ```
 */
export async function gpuInfo(opts: GpuQueryOptions = {}): Promise<GpuInfo> {
  return gpuInfoFrom(await queryGpus(opts));
}

/**
 * The servelab version (deno.json) and git commit of `root`, with a dirty flag.
 *
 * @example
 * ```ts
 * (await codeInfo()).git_commit; // "6a73109..."
 * ```
 */
export async function codeInfo(root = REPO_ROOT): Promise<CodeInfo> {
  let version = "unknown";
  try {
    version = String(JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).version ?? "unknown");
  } catch { /* no deno.json */ }
  const commit = (await run("git", ["rev-parse", "HEAD"], root))?.trim();
  const status = commit ? await run("git", ["status", "--porcelain"], root) : undefined;
  return {
    version,
    git_commit: commit || undefined,
    git_dirty: status === undefined ? undefined : status.trim().length > 0,
  };
}

/**
 * sha256 of each input file, with its path relative to `root`.
 *
 * @example
 * ```ts
 * await hashInputs(["data/prefix_prompts.jsonl"]); // [{ path, sha256, bytes }]
 * ```
 */
export async function hashInputs(paths: readonly string[], root = REPO_ROOT): Promise<InputHash[]> {
  const out: InputHash[] = [];
  for (const p of paths) {
    const abs = p.startsWith("/") ? p : join(root, p);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(abs);
    } catch (err) {
      throw new Error(
        `Cannot hash input ${p}: ${(err as Error).message}. Check the path (relative to ${root}).`,
      );
    }
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
    const sha256 = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    out.push({ path: relative(root, abs), sha256, bytes: bytes.length });
  }
  return out;
}
