/**
 * The lab-wide parameters every tier notebook shares, read from `SERVELAB_*` environment variables
 * (`./servelab run` sets them; a notebook opened in JupyterLab uses the defaults), and the engine
 * configuration they imply.
 *
 * @example
 * ```ts
 * const lab = labEnv();
 * const cfg = serveConfigFor(lab, { max_model_len: 4096 });
 * ```
 * @module
 */
import { z } from "zod";
import { EngineKind, parseServeConfig, type ServeConfig, type ServeConfigInput } from "../engine/config.ts";
import { defaultEngineKind } from "../engine/default_engine.ts";
import { formatCpuList, hostCpus, parseCpuList, planCpus } from "../engine/cpus.ts";
import { validationShort } from "../sim/validation.ts";
import { redactUrl } from "../base/target.ts";
import { isEmbeddedEngine } from "../engine/identity.ts";

/** The default model: the design's first SLM. */
export const DEFAULT_MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

/**
 * Run sizes: `default` is the real lesson; `test` is the smallest run that still shows the behaviour;
 * `teach` is a live-session size, each tier about a minute on the embedded engine, with the same cells.
 */
export const RunSize = z.enum(["default", "test", "teach"]);
export type RunSize = z.infer<typeof RunSize>;

const intFromEnv = z.string().regex(/^\d+$/, "expected a non-negative integer").transform(Number);

/** Environment variables a tier reads, with what each means. */
export const LAB_ENV_VARS = {
  SERVELAB_ENGINE:
    "vllm | sim | llamacpp | external (default: vllm when vllm and a GPU are present, else sim)",
  SERVELAB_MODEL: `model id or path (default ${DEFAULT_MODEL})`,
  SERVELAB_URL: "base URL of an external engine (engine external)",
  SERVELAB_SIM_GPU: "GPU profile of the embedded engine (default H100-80GB)",
  SERVELAB_SIZE:
    "default | test | teach (test: the smallest run that still shows each behaviour; teach: about a minute per tier on the embedded engine, for a live session)",
  SERVELAB_SEED: "seed for workloads and the engine (default 0)",
  SERVELAB_API_KEY_ENV: "name of the environment variable that holds the API key",
  SERVELAB_ENGINE_ARGS: "extra `vllm serve` flags, space-separated, passed through untouched",
  SERVELAB_STARTUP_TIME_SCALE: "embedded engine: factor applied to simulated startup waits (default 0.02)",
  SERVELAB_CPUS:
    "CPU isolation: the engine's CPU list (e.g. 0 or 0-5; the lab's client keeps the rest), auto, or off " +
    "(default off; ./servelab run sets it, auto unless --cpus)",
  SERVELAB_ALLOW_REMOTE:
    "1 allows load to a non-loopback SERVELAB_URL (./servelab run --allow-remote sets it)",
  SERVELAB_SIMULATED:
    "1 when the external server is servelab's embedded engine (./servelab run sets it from the server's /version)",
  SERVELAB_TOKENIZER:
    "a tokenizer.json (or model folder) for servers without /tokenize: prompts are cut with the model's own tokens",
} as const;

/** The lab-wide parameters. */
export const LabEnv = z.object({
  engine: EngineKind,
  model: z.string().min(1),
  url: z.string().url().optional(),
  sim_gpu: z.string().min(1),
  size: RunSize,
  seed: z.number().int().nonnegative(),
  api_key_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional(),
  engine_args: z.array(z.string()),
  startup_time_scale: z.number().positive().max(1),
  /** The CPU list the engines the lab starts run on (cpus.ts); undefined: no isolation. */
  cpus: z.string().optional(),
  /** The numbers come from the embedded engine (engine sim, or an external server that is it). */
  simulated: z.boolean(),
});
export type LabEnv = z.infer<typeof LabEnv>;

/**
 * True for a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
 *
 * @example
 * ```ts
 * isEnvVarName("VLLM_API_KEY"); // true
 * isEnvVarName("sk-abc123"); // false
 * ```
 */
export function isEnvVarName(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

/**
 * The error for an API-key variable setting that is not a variable name. Its value is never shown: it
 * is most likely the key itself, pasted where the variable's name belongs.
 */
export const API_KEY_ENV_NOT_A_NAME = (where: string): string =>
  `${where} is not a valid environment variable name (its value is not shown: it may be an API key ` +
  `pasted by mistake). It takes the NAME of the variable that holds the key: export VLLM_API_KEY=... ` +
  `then ${where.startsWith("--") ? `${where} VLLM_API_KEY` : `${where}=VLLM_API_KEY`}. Fix it or unset it.`;

function fromEnv<T>(
  env: Record<string, string | undefined>,
  name: keyof typeof LAB_ENV_VARS,
  schema: z.ZodType<T>,
): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  if (name === "SERVELAB_API_KEY_ENV") throw new Error(API_KEY_ENV_NOT_A_NAME(name));
  const why = r.error.issues.map((i) => i.message).join("; ");
  throw new Error(
    `${name}='${raw}' is not valid: ${why}. It means: ${LAB_ENV_VARS[name]}. Fix it or unset it.`,
  );
}

/**
 * Reads the lab parameters from the environment, with a clear error that names the variable.
 *
 * @example
 * ```ts
 * labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" }).size; // "test"
 * ```
 */
export function labEnv(env: Record<string, string | undefined> = Deno.env.toObject()): LabEnv {
  const engine = fromEnv(env, "SERVELAB_ENGINE", EngineKind) ?? defaultEngineKind();
  // user:password@ is stripped here, so no page, manifest or error of a tier can show it.
  const url = fromEnv(env, "SERVELAB_URL", z.string().url().transform(redactUrl));
  if (engine === "external" && !url) {
    throw new Error("SERVELAB_ENGINE=external needs SERVELAB_URL (e.g. http://127.0.0.1:8000).");
  }
  const scale = fromEnv(
    env,
    "SERVELAB_STARTUP_TIME_SCALE",
    z.string().transform(Number).pipe(z.number().positive("expected a number in (0, 1]").max(1)),
  );
  return LabEnv.parse({
    engine,
    model: fromEnv(env, "SERVELAB_MODEL", z.string()) ?? DEFAULT_MODEL,
    url,
    sim_gpu: fromEnv(env, "SERVELAB_SIM_GPU", z.string()) ?? "H100-80GB",
    size: fromEnv(env, "SERVELAB_SIZE", RunSize) ?? "default",
    seed: fromEnv(env, "SERVELAB_SEED", intFromEnv) ?? 0,
    api_key_env: fromEnv(env, "SERVELAB_API_KEY_ENV", LabEnv.shape.api_key_env.unwrap()),
    engine_args: (fromEnv(env, "SERVELAB_ENGINE_ARGS", z.string()) ?? "").split(/\s+/).filter(Boolean),
    startup_time_scale: scale ?? 0.02,
    cpus: engine === "external" ? undefined : engineCpus(env),
    simulated: engine === "sim" || fromEnv(env, "SERVELAB_SIMULATED", z.enum(["0", "1"])) === "1",
  });
}

/**
 * SERVELAB_CPUS: off/unset -> undefined; auto -> the planned engine set; a CPU list -> as given (its syntax
 * checked only: under `./servelab run` this kernel is already pinned to the client's set, so the engine's
 * CPUs are not among its own).
 */
function engineCpus(env: Record<string, string | undefined>): string | undefined {
  const raw = env.SERVELAB_CPUS?.trim();
  if (raw === undefined || raw === "" || raw === "off") return undefined;
  try {
    return raw === "auto" ? planCpus(hostCpus()).engine : formatCpuList(parseCpuList(raw, "SERVELAB_CPUS"));
  } catch (err) {
    throw new Error(
      `SERVELAB_CPUS='${raw}' is not valid: ${
        (err as Error).message
      } It means: ${LAB_ENV_VARS.SERVELAB_CPUS}.`,
    );
  }
}

/**
 * The engine configuration for a tier: the lab's engine, model and seed, with the tier's overrides.
 *
 * @example
 * ```ts
 * serveConfigFor(labEnv(), { enable_prefix_caching: false }).enable_prefix_caching; // false
 * ```
 */
export function serveConfigFor(lab: LabEnv, overrides: Partial<ServeConfigInput> = {}): ServeConfig {
  const { sim: simOverrides, extra_args, ...rest } = overrides;
  return parseServeConfig({
    engine: lab.engine,
    model: lab.model,
    url: lab.engine === "external" ? lab.url : undefined,
    seed: lab.seed,
    api_key_env: lab.api_key_env,
    ...(lab.cpus !== undefined && lab.engine !== "external" ? { cpus: lab.cpus } : {}),
    ...rest,
    extra_args: [...lab.engine_args, ...(extra_args ?? [])],
    sim: { gpu: lab.sim_gpu, startup_time_scale: lab.startup_time_scale, ...simOverrides },
  }, "tier engine config");
}

/**
 * How a report names the engine: real engines by kind and version; the embedded engine always says
 * SIMULATED and names its GPU profile. With CPU isolation (`cfg.cpus`), every page's engine line also names
 * the engine's CPU set.
 *
 * @example
 * ```ts
 * engineLabel(cfg, "0.11.0+servelab-sim.0.1.0"); // "SIMULATED: embedded engine, H100-80GB profile (...)"
 * ```
 */
export function engineLabel(cfg: ServeConfig, version?: string): string {
  return engineKindLabel(cfg, version) +
    (cfg.cpus !== undefined ? `, engine on CPUs ${cfg.cpus} (client on the rest)` : "");
}

function engineKindLabel(cfg: ServeConfig, version?: string): string {
  const v = version ? ` ${version}` : "";
  switch (cfg.engine) {
    case "sim":
      return `SIMULATED: embedded engine${v}, ${cfg.sim.gpu} profile (${
        validationShort(cfg.sim.gpu)
      }), model ${cfg.model}`;
    case "vllm":
      return `vLLM${v}, model ${cfg.model}`;
    case "llamacpp":
      return `llama.cpp's llama-server${v}, model ${cfg.model}`;
    case "external":
      // A server the lab did not start can still be the embedded engine: its version says so.
      return `${isEmbeddedEngine(version) ? "SIMULATED: " : ""}external server at ${cfg.url}${v}, ` +
        `model ${cfg.model}`;
    default: {
      const never: never = cfg.engine;
      throw new Error(`Unknown engine ${never}`);
    }
  }
}
