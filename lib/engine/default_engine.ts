/**
 * Which engine to use when the user did not say: `vllm` when a `vllm` executable is available and a GPU
 * is visible, otherwise the embedded `sim`.
 * @module
 */
import type { EngineKind } from "./config.ts";

/** The probes {@link defaultEngineKind} uses; injectable for tests. */
export interface EngineProbes {
  /** True when a `vllm` executable can be run (SERVELAB_VLLM_BIN set, or `vllm` on PATH). */
  hasVllm?: () => boolean;
  /** The output of `nvidia-smi -L`, or undefined when it cannot run. */
  listGpus?: () => Promise<string | undefined>;
}

/**
 * `"vllm"` when vLLM is installed and `nvidia-smi -L` lists a GPU, else `"sim"`. Cheap: a PATH scan,
 * and `nvidia-smi` only when vLLM is present.
 *
 * @example
 * ```ts
 * const engine = Deno.env.get("SERVELAB_ENGINE") ?? await defaultEngineKind();
 * ```
 */
export async function defaultEngineKind(probes: EngineProbes = {}): Promise<Exclude<EngineKind, "external">> {
  const hasVllm = probes.hasVllm ?? vllmAvailable;
  if (!hasVllm()) return "sim";
  const out = await (probes.listGpus ?? listNvidiaGpus)();
  return out !== undefined && /^GPU \d+:/m.test(out) ? "vllm" : "sim";
}

/** True when SERVELAB_VLLM_BIN is set or an executable `vllm` is on PATH. */
export function vllmAvailable(): boolean {
  if (Deno.env.get("SERVELAB_VLLM_BIN")) return true;
  return findOnPath("vllm") !== undefined;
}

/** The full path of an executable on PATH, or undefined. */
export function findOnPath(name: string, path = Deno.env.get("PATH") ?? ""): string | undefined {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const full = `${dir}/${name}`;
    try {
      const st = Deno.statSync(full);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The output of `nvidia-smi -L` (one `GPU n: ...` line per GPU), or undefined when it cannot run.
 *
 * @example
 * ```ts
 * (await listNvidiaGpus())?.match(/^GPU \d+:/gm)?.length; // 8 on an 8-GPU node, undefined without nvidia-smi
 * ```
 */
export async function listNvidiaGpus(): Promise<string | undefined> {
  if (findOnPath("nvidia-smi") === undefined) return undefined;
  try {
    const out = await new Deno.Command("nvidia-smi", { args: ["-L"], stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}
