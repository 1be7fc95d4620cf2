/**
 * What `./servelab run` checks before a run folder exists, and what `--resume` compares: the environment
 * the notebooks will see (lab variables, every tier's knobs), the data files (prefix families, the model's
 * catalog entry), the engine binary; and the parameters that define a run, so a resume cannot mix two
 * runs in one folder.
 * @module
 */
import { findOnPath, llamaServerCommand, vllmAvailable } from "../../lib/engine/mod.ts";
import { REPO_ROOT } from "../../lib/run/mod.ts";
import type { InputHash, Manifest } from "../../lib/run/mod.ts";
import { catalogProblems, loadGpu, loadModel } from "../../lib/sim/mod.ts";
import { labEnv, prefix, TIERS } from "../../lib/mod.ts";

/**
 * Variables that do not define what a run measures: where it writes, whether finished points are
 * redone, whether remote hosts are allowed, and where tools live. Every other `SERVELAB_*` variable
 * (seed, GPU profile, engine args, every tier knob) defines the run.
 */
const NOT_DEFINING = new Set([
  "SERVELAB_RUN_DIR",
  "SERVELAB_FORCE",
  "SERVELAB_ALLOW_REMOTE",
  "SERVELAB_ROOT",
  "SERVELAB_VLLM_BIN",
  "SERVELAB_URL",
  "SERVELAB_API_KEY_ENV",
  "SERVELAB_SIMULATED", // set by the lab from the server's identity
  // Compared on their own (engine, size, model), as the run resolved them.
  "SERVELAB_ENGINE",
  "SERVELAB_SIZE",
  "SERVELAB_MODEL",
]);

/** Names that may hold a secret (SERVELAB_API_KEY...): never recorded, so never compared either. */
const SECRET_NAME = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;

/** Prefix under which a defining variable is kept in the manifest's params. */
export const ENV_PARAM = "env.";

/**
 * The defining `SERVELAB_*` variables of an environment, as manifest params (`env.NAME: value`).
 *
 * @example
 * ```ts
 * definingEnv({ SERVELAB_SEED: "3", SERVELAB_RUN_DIR: "/x", HOME: "/root" }); // { "env.SERVELAB_SEED": "3" }
 * ```
 */
export function definingEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (
      !k.startsWith("SERVELAB_") || NOT_DEFINING.has(k) || SECRET_NAME.test(k) || v === undefined || v === ""
    ) {
      continue;
    }
    out[ENV_PARAM + k] = v;
  }
  return out;
}

/**
 * Validates everything a run needs before its folder exists; throws the first problem with the input
 * named and the fix. Returns warnings (catalog files skipped) to print.
 *
 * @example
 * ```ts
 * validateRunInputs({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" }); // [] or warnings
 * ```
 */
export async function validateRunInputs(env: Record<string, string | undefined>): Promise<string[]> {
  const lab = labEnv(env);
  // Every tier's knobs, through the tier contract: each throws naming its variable and the fix.
  for (const t of TIERS) t.params(lab, env);
  await prefix.loadFamilies();
  const warnings = catalogProblems().map((p) => `warning: ${p.error} Skipped it.`);
  switch (lab.engine) {
    case "sim":
      loadModel(lab.model);
      loadGpu(lab.sim_gpu);
      break;
    case "vllm":
      if (!vllmAvailable()) {
        throw new Error(
          "Engine 'vllm' needs vLLM, but no 'vllm' is on PATH and SERVELAB_VLLM_BIN is not set. Install vLLM " +
            "(pip install vllm) or point SERVELAB_VLLM_BIN at it, or run --engine sim (the embedded engine).",
        );
      }
      break;
    case "llamacpp": {
      let isFile = false;
      try {
        isFile = Deno.statSync(lab.model).isFile;
      } catch { /* missing */ }
      if (!/\.gguf$/i.test(lab.model) || !isFile) {
        throw new Error(
          `Engine 'llamacpp' serves a GGUF file, and --model '${lab.model}' is not one. Write the tiny model ` +
            "as GGUF (./servelab tiny-model DIR --gguf) and pass --model DIR/tiny-llama.gguf.",
        );
      }
      const cmd = llamaServerCommand(REPO_ROOT);
      if (cmd === "llama-server" && findOnPath("llama-server") === undefined) {
        throw new Error(
          "Engine 'llamacpp' needs llama.cpp's server: run tools/real/llamacpp_install.sh, or point " +
            "SERVELAB_LLAMA_SERVER at a llama-server executable.",
        );
      }
      break;
    }
    case "external":
      break;
    default: {
      const never: never = lab.engine;
      throw new Error(`Unknown engine ${never}`);
    }
  }
  return warnings;
}

/** The run as it would start now: what `--resume` compares with the manifest. */
export interface RunDefinition {
  engine: string;
  model?: string;
  size: string;
  /** `env.SERVELAB_*` → value, from {@link definingEnv}. */
  env: Record<string, string>;
  inputs: InputHash[];
}

/**
 * Every difference between a run's manifest and the run as it would start now, each named with both
 * values; empty when the resume is the same run. Runs written before the manifest kept its variables
 * (no `env.*` params and no `definition` mark) are compared on engine, model, size and inputs only.
 *
 * @example
 * ```ts
 * resumeDifferences(manifest, { engine: "sim", size: "test", env: {}, inputs: [] }); // ["size: ..."]
 * ```
 */
export function resumeDifferences(m: Manifest, now: RunDefinition): string[] {
  const out: string[] = [];
  if (now.engine !== m.engine.kind) out.push(`engine: the run used '${m.engine.kind}', now '${now.engine}'`);
  const modelThen = typeof m.params.model === "string" ? m.params.model : m.model;
  if ((now.model ?? "") !== (modelThen ?? "") && now.model !== undefined) {
    out.push(`model: the run used '${modelThen ?? "each tier's default"}', now '${now.model}'`);
  }
  const sizeThen = String(m.params.size ?? "default");
  if (now.size !== sizeThen) out.push(`size: the run used '${sizeThen}', now '${now.size}'`);
  if (m.params.definition === 1) {
    const then: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.params)) if (k.startsWith(ENV_PARAM)) then[k] = String(v);
    for (const k of new Set([...Object.keys(then), ...Object.keys(now.env)])) {
      if (then[k] !== now.env[k]) {
        const show = (v: string | undefined) => v === undefined ? "unset" : `'${v}'`;
        out.push(`${k.slice(ENV_PARAM.length)}: the run had ${show(then[k])}, now ${show(now.env[k])}`);
      }
    }
  }
  const hashes = (xs: readonly InputHash[]) => new Map(xs.map((x) => [x.path, x.sha256]));
  const a = hashes(m.inputs), b = hashes(now.inputs);
  for (const p of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(p) !== b.get(p)) {
      out.push(
        `${p}: ${
          !a.has(p) ? "added since the run" : !b.has(p) ? "removed since the run" : "changed since the run"
        }`,
      );
    }
  }
  return out;
}
