/**
 * What the write-up's sections share: whether the run is SIMULATED and its banner, the engine in words, the
 * exact engine command of a manifest entry, and the sentence for a tier without data. The sections
 * themselves follow the seed's Logging Template (day_template.ts).
 * @module
 */
import { buildServeArgs } from "../engine/argv.ts";
import { parseServeConfig } from "../engine/config.ts";
import { llamaServerArgs } from "../engine/llamacpp.ts";
import { codeText, h, type Html, raw } from "../report/html.ts";
import type { TIERS } from "../tiers/mod.ts";
import type { AnyTier, FactsOf } from "../tiers/tier.ts";
import { jsonPath, type RunData } from "./run_data.ts";
import { shellLine } from "../report/shell.ts";

/** All facts of a run, by tier key (the built-in tiers typed; a tier added to the list is there too). */
export type RunFacts = { [T in typeof TIERS[number] as T["key"]]: FactsOf<T> } & Record<string, unknown>;

const str = (v: unknown): string | undefined => typeof v === "string" && v ? v : undefined;

/** True when the run is on the embedded engine (every page then says SIMULATED). */
export function isSimulated(data: RunData): boolean {
  const kind = str(jsonPath(data.manifest, "engine.kind"));
  const version = str(jsonPath(data.manifest, "engine.version")) ?? "";
  return kind === "sim" || version.includes("servelab-sim");
}

/** The engine in words: "SIMULATED: embedded engine VERSION, GPU profile" or "vllm VERSION". */
export function engineText(data: RunData): string {
  const kind = str(jsonPath(data.manifest, "engine.kind")) ?? "unknown";
  const version = str(jsonPath(data.manifest, "engine.version"));
  const profile = str(jsonPath(data.manifest, "sim_profile"));
  if (kind === "sim") {
    return `SIMULATED: embedded engine${version ? ` ${version}` : ""}, ${profile ?? "?"} profile`;
  }
  return `${isSimulated(data) ? "SIMULATED: " : ""}${kind}${version ? ` ${version}` : ""}`;
}

/** Says which tier left no data and why that may be. */
export function missingTier(data: RunData, t: AnyTier): Html | undefined {
  const s = data.status[t.key] ?? "not_run";
  if (s === "measured") return undefined;
  return h`<p class="missing"><strong>Not measured:</strong> the ${t.title} tier left no data in this run (${
    codeText(t.files[0].name)
  } is ${
    s === "no_data"
      ? "missing or empty although its notebook ran: the tier failed, or was skipped on this engine"
      : "missing: its notebook did not run"
  }). Its numbers below say "not measured".</p>`;
}

/** The SIMULATED banner (empty for a real engine). */
export function simulatedBanner(data: RunData): Html {
  return isSimulated(data)
    ? h`<p class="simulated"><strong>SIMULATED.</strong> Every number on this page comes from servelab's embedded engine (a model of vLLM on the ${
      str(jsonPath(data.manifest, "sim_profile")) ?? "?"
    } profile), served in real time on this machine, not from a GPU: it shows how vLLM behaves, not how fast your hardware is.</p>`
    : raw("");
}

interface EngineEntry {
  label: string;
  kind: string;
  config: Record<string, unknown>;
}

/** The exact engine command of a manifest engine entry (port and host as the lab chose them). */
export function engineCommand(e: EngineEntry): string {
  try {
    const args = buildServeArgs(parseServeConfig(e.config));
    const quoted = shellLine(args);
    const cfg = parseServeConfig(e.config);
    const pin = cfg.cpus !== undefined ? `taskset -c ${cfg.cpus} ` : "";
    return e.kind === "sim"
      ? `${pin}./servelab sim serve ${quoted}`
      : e.kind === "vllm"
      ? `${pin}vllm serve ${quoted}`
      : e.kind === "llamacpp"
      ? `${pin}llama-server ${llamaServerArgs(cfg).join(" ")}`
      : `# external server: ${JSON.stringify(e.config.url ?? "")}`;
  } catch {
    return `# ${e.label}: ${JSON.stringify(e.config)}`;
  }
}

// The file a number comes from: its own, or for a derived number (a ratio) the tier's main CSV.
