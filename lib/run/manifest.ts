/**
 * `manifest.json`: what a run was (engine, model, flags, host, GPU or sim profile, code version, seeds,
 * input hashes, times, status). Written atomically at the start of a run and updated as it goes; read
 * back through a zod schema. Secrets never reach it: the config keeps only the API key's environment
 * variable name, and any secret-looking environment value is replaced before writing.
 * @module
 */
import { z } from "zod";
import type { ServeConfig } from "../engine/config.ts";
import { readJsonIfExists, writeJsonAtomic } from "./atomic.ts";
import { TierOutcome } from "./outcome.ts";
import { CodeInfo, codeInfo, GpuInfo, gpuInfo, HostInfo, hostInfo, InputHash } from "./host.ts";

/** Where a run stands. "interrupted": stopped by Ctrl-C or a signal; resumable. "partial": every tier ran, some
 * points failed (lib/run/outcome.ts). */
export const RunStatus = z.enum(["running", "complete", "partial", "failed", "interrupted"]);
export type RunStatus = z.infer<typeof RunStatus>;

/** One engine a run started (tiers start several: one per server config). */
export const ManifestEngine = z.object({
  /** Who started it and why, e.g. "ttft" or "kv_scaling max_model_len=4096". */
  label: z.string(),
  kind: z.string(),
  version: z.string().optional(),
  /** The ServeConfig, sanitized by {@link sanitizeConfig}. */
  config: z.record(z.string(), z.unknown()),
});
export type ManifestEngine = z.infer<typeof ManifestEngine>;

/**
 * The CPU sets of a run (lib/engine/cpus.ts): the engines the lab starts run on `engine`, the runner and
 * kernel (the client) on `client`; `isolation: "off"` when they share the host's CPUs.
 */
export const ManifestCpus = z.object({
  isolation: z.enum(["on", "off"]),
  engine: z.string().optional(),
  client: z.string().optional(),
  /** "auto" (planned from the host's CPUs and NUMA nodes), "--cpus" or "SERVELAB_CPUS". */
  source: z.string(),
  /** The CPUs the lab could use, and the NUMA nodes they span. */
  host: z.string(),
  numa_nodes: z.number().int().nonnegative(),
  /** Why isolation is off, when it is. */
  reason: z.string().optional(),
  /** /proc/loadavg's 1-minute load when the run started: above `host`'s CPU count, others share the sets. */
  load_avg_1m: z.number().optional(),
});
export type ManifestCpus = z.infer<typeof ManifestCpus>;

/**
 * The one line every page shows about a run's CPU sets, from its manifest; undefined for a manifest written
 * before CPU sets were recorded.
 *
 * @example
 * ```ts
 * cpuSetsLine(manifest); // "CPU sets: engine 0, client 1 (auto split of 0-1, 1 NUMA node)"
 * ```
 */
export function cpuSetsLine(manifest: Record<string, unknown>): string | undefined {
  const r = ManifestCpus.safeParse(manifest.cpus);
  if (!r.success) return undefined;
  const c = r.data;
  const nodes = `${c.numa_nodes} NUMA node${c.numa_nodes === 1 ? "" : "s"}` +
    (c.load_avg_1m !== undefined ? `, load average ${c.load_avg_1m} at start` : "");
  if (c.isolation === "off") {
    return `CPU sets: none, engine and client share CPUs ${c.host} (${nodes}; ${c.reason ?? c.source})`;
  }
  const how = c.source === "auto" ? "auto split" : `${c.source} split`;
  return `CPU sets: engine ${c.engine}, client ${c.client} (${how} of ${c.host}, ${nodes})`;
}

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO date-time");

/** The manifest schema. Unknown keys are kept, so later versions can add fields. */
export const Manifest = z.looseObject({
  schema_version: z.literal(1),
  run_id: z.string(),
  status: RunStatus,
  /** Wall clock, ISO 8601. */
  started_at: isoTime,
  ended_at: isoTime.optional(),
  engine: z.object({ kind: z.string(), version: z.string().optional() }),
  model: z.string().optional(),
  /** The run's base ServeConfig, sanitized. */
  config: z.record(z.string(), z.unknown()).optional(),
  engines: z.array(ManifestEngine).default([]),
  /** Run parameters (size, tiers, options) as given. */
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  host: HostInfo,
  gpu: GpuInfo,
  /** The simulated GPU profile when the engine is "sim". */
  sim_profile: z.string().optional(),
  servelab: CodeInfo,
  deno_version: z.string(),
  seeds: z.record(z.string(), z.number()).default({}),
  inputs: z.array(InputHash).default([]),
  /** Why the run failed, when it did. */
  error: z.string().optional(),
  /** The engine's and the client's CPU sets (written by `./servelab run`). */
  cpus: ManifestCpus.optional(),
  // Issue 20 (additive): per-tier outcomes and the server's capabilities.
  /** Each tier's outcome (lib/run/outcome.ts), written when the run ends. */
  tiers: z.record(z.string(), TierOutcome).optional(),
  /** What the server offers (lib/probe/capabilities.ts `Capabilities`), probed at the start of the run. */
  capabilities: z.record(z.string(), z.unknown()).optional(),
});
export type Manifest = z.infer<typeof Manifest>;

/** What the caller knows when a run starts; the rest is probed. */
export interface ManifestStart {
  run_id: string;
  engine: { kind: string; version?: string };
  model?: string;
  config?: ServeConfig;
  params?: Manifest["params"];
  sim_profile?: string;
  seeds?: Record<string, number>;
  inputs?: InputHash[];
  started_at?: Date;
}

const SECRET_NAME = /(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)/i;
const SECRET_FLAG = /^--(api-key|hf-token|token)$/;
const REDACTED = "<redacted>";

/**
 * A ServeConfig as the manifest stores it: secret-looking `env` values and `--api-key`-style values in
 * `extra_args` replaced by "<redacted>". `api_key_env` (a variable name, not a key) is kept.
 *
 * @example
 * ```ts
 * sanitizeConfig(cfg).extra_args; // ["--api-key", "<redacted>"]
 * ```
 */
export function sanitizeConfig(config: ServeConfig): Record<string, unknown> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.env ?? {})) env[k] = SECRET_NAME.test(k) ? REDACTED : v;
  const extra: string[] = [];
  const args = config.extra_args ?? [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0 && SECRET_FLAG.test(a.slice(0, eq))) {
      extra.push(`${a.slice(0, eq)}=${REDACTED}`);
    } else if (SECRET_FLAG.test(a) && i + 1 < args.length) extra.push(a, REDACTED), i++;
    else extra.push(a);
  }
  return { ...config, env, extra_args: extra };
}

/**
 * Values of environment variables whose names look secret (API keys, tokens, passwords), plus the
 * variables named in `names`; only values of 6 characters or more, to avoid redacting trivia.
 *
 * @example
 * ```ts
 * secretEnvValues(["MY_KEY"]); // ["sk-...", ...]
 * ```
 */
export function secretEnvValues(names: readonly string[] = []): string[] {
  const out = new Set<string>();
  let env: Record<string, string> = {};
  try {
    env = Deno.env.toObject();
  } catch { /* no env permission: nothing to redact from it */ }
  for (const [k, v] of Object.entries(env)) {
    if ((SECRET_NAME.test(k) || names.includes(k)) && v.length >= 6) out.add(v);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each secret in every string of `value` (deep) with "<redacted>". */
export function redactSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return secrets.reduce((s, sec) => s.split(sec).join(REDACTED), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [walk(k) as string, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/**
 * Builds a manifest for a starting run: the caller's facts plus the probed host, GPU and code.
 *
 * @example
 * ```ts
 * const m = await buildManifest({ run_id: "20261128-101500-sim-a1b2", engine: { kind: "sim" } });
 * ```
 */
export async function buildManifest(start: ManifestStart): Promise<Manifest> {
  const [host, gpu, servelab] = await Promise.all([hostInfo(), gpuInfo(), codeInfo()]);
  return Manifest.parse({
    schema_version: 1,
    run_id: start.run_id,
    status: "running",
    started_at: (start.started_at ?? new Date()).toISOString(),
    engine: start.engine,
    model: start.model ?? start.config?.model,
    config: start.config ? sanitizeConfig(start.config) : undefined,
    engines: [],
    params: start.params ?? {},
    host,
    gpu,
    sim_profile: start.sim_profile ?? (start.config?.engine === "sim" ? start.config.sim.gpu : undefined),
    servelab,
    deno_version: Deno.version.deno,
    seeds: start.seeds ?? (start.config ? { engine: start.config.seed } : {}),
    inputs: start.inputs ?? [],
  });
}

function apiKeyEnvNames(m: Manifest): string[] {
  const names = [m.config, ...m.engines.map((e) => e.config)]
    .map((c) => c?.api_key_env)
    .filter((n): n is string => typeof n === "string");
  return [...names, "VLLM_API_KEY", "OPENAI_API_KEY"];
}

/**
 * Validates and writes a manifest atomically, redacting any secret environment value it contains.
 *
 * @example
 * ```ts
 * await writeManifest("reports/r1/manifest.json", manifest);
 * ```
 */
export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  const checked = Manifest.parse(manifest);
  await writeJsonAtomic(path, redactSecrets(checked, secretEnvValues(apiKeyEnvNames(checked))));
}

/**
 * Reads and validates a manifest; the error names the file and each bad field.
 *
 * @example
 * ```ts
 * const m = await readManifest("reports/r1/manifest.json");
 * ```
 */
export async function readManifest(path: string): Promise<Manifest> {
  const raw = await readJsonIfExists(path);
  if (raw === undefined) {
    throw new Error(`Cannot read ${path}: the file does not exist. Is this a run folder made by servelab?`);
  }
  const r = Manifest.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`Invalid manifest ${path}:\n${issues}`);
  }
  return r.data;
}

/**
 * Reads, changes and rewrites a manifest (atomically). `change` gets a copy and returns the new one.
 *
 * @example
 * ```ts
 * await updateManifest(path, (m) => ({ ...m, status: "complete", ended_at: new Date().toISOString() }));
 * ```
 */
export async function updateManifest(
  path: string,
  change: (m: Manifest) => Manifest,
): Promise<Manifest> {
  const next = change(structuredClone(await readManifest(path)));
  await writeManifest(path, next);
  return next;
}
