/**
 * The write-up's sections as HTML fragments, filled from the run's facts and manifest: environment,
 * commands, key numbers, KV table, artifacts, observations. A tier without data is said to be missing.
 * @module
 */
import { buildServeArgs } from "../engine/argv.ts";
import { parseServeConfig } from "../engine/config.ts";
import { codeText, fileLink, h, type Html, htmlList, htmlTable, preText, raw } from "../report/html.ts";
import { TIERS } from "../tiers/mod.ts";
import type { AnyTier, FactsOf, KeyNumber } from "../tiers/tier.ts";
import { type FactBook, jsonPath, type RunData } from "./run_data.ts";
import { shellLine } from "../report/shell.ts";
import { redactUrl } from "../base/target.ts";

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

/**
 * Environment: engine and version, GPU, OS and kernel, host, model, servelab version.
 *
 * @example
 * ```ts
 * await show(htmlOutput(environmentSection(book)));
 * ```
 */
export function environmentSection(b: FactBook): Html {
  const m = b.data.manifest;
  const gpuName = str(jsonPath(m, "gpu.name")) ?? str(jsonPath(m, "gpu.model"));
  const cores = b.add("env_cores", "CPU cores", "", {
    file: "manifest.json",
    column: "host.cores",
    stat: "value",
  });
  const mem = b.add("env_memory_gib", "host memory", "GiB", {
    file: "manifest.json",
    column: "host.memory_gib",
    stat: "value",
  });
  const commit = str(jsonPath(m, "servelab.git_commit"));
  return h`<h2 id="wu-environment">Environment</h2>${
    htmlTable(["item", "value"], [
      ["engine", engineText(b.data)],
      ["model", str(jsonPath(m, "model")) ?? "each tier's default"],
      [
        "GPU",
        gpuName ?? (isSimulated(b.data)
          ? `none: simulated ${str(jsonPath(m, "sim_profile")) ?? "?"} profile`
          : "none visible (nvidia-smi)"),
      ],
      ["OS", codeText(str(jsonPath(m, "host.os")) ?? "?")],
      ["kernel", codeText(str(jsonPath(m, "host.kernel")) ?? "?")],
      ["CPU", h`${str(jsonPath(m, "host.cpu_model")) ?? "?"}, ${cores} cores, ${mem}`],
      [
        "servelab",
        h`${
          codeText(`${str(jsonPath(m, "servelab.version")) ?? "?"} ${commit ? commit.slice(0, 12) : ""}`)
        }, Deno ${codeText(str(jsonPath(m, "deno_version")) ?? "?")}`,
      ],
      ["run", codeText(str(jsonPath(m, "run_id")) ?? "?")],
    ])
  }`;
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
    return e.kind === "sim"
      ? `./servelab sim serve ${quoted}`
      : e.kind === "vllm"
      ? `vllm serve ${quoted}`
      : `# external server: ${JSON.stringify(e.config.url ?? "")}`;
  } catch {
    return `# ${e.label}: ${JSON.stringify(e.config)}`;
  }
}

/**
 * Commands run: the lab command that reproduces the run and each engine command the tiers started.
 *
 * @example
 * ```ts
 * commandsSection(data).html; // "<h2 id=...>Commands run</h2>..."
 * ```
 */
export function commandsSection(data: RunData): Html {
  const m = data.manifest;
  const params = (jsonPath(m, "params") ?? {}) as Record<string, unknown>;
  const lab = ["./servelab", "run", "--engine", str(jsonPath(m, "engine.kind")) ?? "?"];
  if (params.size) lab.push("--size", String(params.size));
  if (str(jsonPath(m, "model"))) lab.push("--model", String(jsonPath(m, "model")));
  if (typeof params.url === "string") lab.push("--url", redactUrl(params.url));
  const engines = (jsonPath(m, "engines") ?? []) as EngineEntry[];
  // The same command on another free port is the same command: one block, its labels listed.
  const byCommand = new Map<string, string[]>();
  for (const e of engines) {
    const cmd = engineCommand(e).replace(/--port \d+/, "--port <free port>");
    byCommand.set(cmd, [...byCommand.get(cmd) ?? [], e.label]);
  }
  const lines = [...byCommand].map(([cmd, labels]) => `# ${labels.join(", ")}\n${cmd}`);
  return h`<h2 id="wu-commands-run">Commands run</h2><p>The lab (reruns every tier on the same engine and size):</p>${
    preText(shellLine(lab))
  }<p>The engines the tiers started, in order (the port is the free one the lab picked):</p>${
    lines.length
      ? preText(lines.join("\n"))
      : h`<p>None recorded: the engine was external, or no tier started one.</p>`
  }`;
}

// The file a number comes from: its own, or for a derived number (a ratio) the tier's main CSV.
const row = (t: AnyTier, k: KeyNumber): Html[] => [
  h`${k.label}`,
  h`${k.fact}`,
  fileLink(k.fact?.source.file || t.files[0].name),
];

/**
 * Key numbers: each tier's key numbers (cold and warm TTFT, the prefix caching win, throughput at the
 * lowest concurrency and at the target, ...) and its tables of facts (the KV scaling table).
 *
 * @example
 * ```ts
 * keyNumbersSection(book.data, facts);
 * ```
 */
export function keyNumbersSection(
  data: RunData,
  f: Readonly<Record<string, unknown>>,
  tiers: readonly AnyTier[] = TIERS,
): Html {
  const rows = tiers.flatMap((t) => t.keyNumbers(f[t.key]).map((k) => row(t, k)));
  const tables = tiers.flatMap((t) =>
    (t.keyTables?.(f[t.key]) ?? []).map((k) =>
      h`<h3>${k.title}</h3>${missingTier(data, t) ?? htmlTable(k.columns, k.rows)}`
    )
  );
  return h`<h2 id="wu-key-numbers">Key numbers</h2>${
    htmlTable(["quantity", "value", "from"], rows)
  }${tables}`;
}

/** Artifacts: the notebooks' HTML reports, the CSVs, and the write-up's own files. */
export function artifactsSection(data: RunData, own: readonly string[]): Html {
  const pages = data.files.filter((n) =>
    n.endsWith(".html") && data.files.includes(n.replace(/\.html$/, ".ipynb"))
  );
  const csvs = data.files.filter((n) => /\.(csv|md)$/.test(n));
  const mine = own.filter((n) => !pages.includes(n) && !csvs.includes(n));
  return h`<h2 id="wu-artifacts">Artifacts</h2><p>Notebook reports: ${
    pages.length ? pages.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`) : "none yet"
  }.</p><p>Data and tier write-ups: ${
    csvs.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`)
  }.</p><p>This write-up's files: ${mine.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`)}, and ${
    fileLink("manifest.json")
  }.</p>`;
}

/**
 * Observations, each quoting the run: what made TTFT spike, when prefix caching helped and when not, what
 * max-model-len is safe.
 *
 * @example
 * ```ts
 * observationsSection(data, facts);
 * ```
 */
export function observationsSection(data: RunData, f: RunFacts, tiers: readonly AnyTier[] = TIERS): Html {
  const { ttft: t, prefix: p, kv: k, batching: bt } = f;
  const items: Html[] = [];
  if (t.cold_p50) {
    items.push(
      h`<strong>TTFT spikes: the cold start.</strong> The first request after the engine reported ready took ${t.cold_p50} (p50 over ${t.cold_n} launches) against ${t.warm_p50} warm: ${t.cold_warm}. The first request pays first-use work the startup did not do (in vLLM: kernel selection, allocator and cache warm-up).`,
    );
  }
  if (t.idle_max) {
    items.push(
      h`<strong>After idle</strong> the first requests took up to ${t.idle_max} (${t.idle_factor} the warm p50).`,
    );
  }
  if (t.len_factor) {
    items.push(
      h`<strong>Long prompts:</strong> TTFT p50 went from ${t.len_min_p50} at ${t.len_min} to ${t.len_max_p50} at ${t.len_max} (${t.len_factor}): prefill grows with the prompt.`,
    );
  }
  if (bt.top.ttft_p95_ms) {
    items.push(
      h`<strong>Queueing under load:</strong> at concurrency ${bt.top.concurrency} TTFT p95 was ${bt.top.ttft_p95_ms} against ${bt.one.ttft_p95_ms} at ${bt.one.concurrency}; the server held up to ${bt.top.waiting_max} requests waiting there.`,
    );
  }
  if (p.long?.speedup) {
    items.push(
      h`<strong>Prefix caching helped</strong> when requests shared a long start: with ${p.long_tokens} shared TTFT p50 fell from ${p.long.off} to ${p.long.on} (${p.long.speedup}), with a hit rate of ${p.long_hit_rate}.`,
    );
  }
  if (p.short?.speedup || p.share_none?.speedup) {
    items.push(
      h`<strong>It did not help</strong> for a shared part shorter than a block (${p.short_tokens}: ${p.short?.speedup}) or for traffic that shares nothing (${p.share_none?.speedup}, against ${p.share_all?.speedup} when every request shares the prefix).`,
    );
  }
  if (p.cliff_over) {
    items.push(
      h`<strong>The eviction cliff:</strong> with a prefix working set of ${p.cliff_fits} the KV pool the hit rate was ${p.cliff_fits_hit}; at ${p.cliff_over} it was ${p.cliff_over_hit}.`,
    );
  }
  if (k.safe_len) {
    items.push(
      h`<strong>Safe max-model-len here:</strong> ${k.safe_len} still holds ${k.safe_len_concurrency} full-length requests at once, at least the concurrency target of ${bt.target.concurrency}. Max-model-len does not change the memory taken (the pool is allocated at startup); it sets how many full-length requests fit.`,
    );
  }
  const missing = tiers.map((t) => missingTier(data, t)).filter(
    (x): x is Html => x !== undefined,
  );
  return h`<h2 id="wu-observations">Observations</h2>${
    items.length ? htmlList(items) : h`<p>No tier left data to observe.</p>`
  }${missing}`;
}
