/**
 * The seed's Logging Template (Day 007) filled from a run: its headings word for word and in order
 * (Environment, Commands Run, Key Numbers, Artifacts Created/Updated, Observations / Surprises), each bullet
 * of the template answered from the run's manifest and facts. Every number is a fact; text quoted from the
 * seed (the title) is marked `seed`.
 * @module
 */
import { cpuSetsLine } from "../run/manifest.ts";
import { buildServeArgs } from "../engine/argv.ts";
import { parseServeConfig } from "../engine/config.ts";
import { codeText, fileLink, h, type Html, htmlList, htmlTable, preText, raw } from "../report/html.ts";
import type { FactBook, RunData } from "../report/fact_book.ts";
import type { AnyTier, KeyNumber } from "../tiers/tier.ts";
import { jsonPath } from "./run_data.ts";
import { shellLine } from "../report/shell.ts";
import { redactUrl } from "../base/target.ts";
import { engineCommand, engineText, isSimulated, missingTier, type RunFacts } from "./sections.ts";
import { prefixUnsharedText } from "../tiers/prefix/questions.ts";

/** The seed's title of the day's write-up. */
export const DAY_TITLE = "Day 007 – vLLM SLM: TTFT, Prefix Caching, KV Scaling";

/** The template's headings, word for word, in order. */
export const TEMPLATE_HEADINGS = [
  "Environment",
  "Commands Run",
  "Key Numbers",
  "Artifacts Created/Updated",
  "Observations / Surprises",
] as const;

const str = (v: unknown): string | undefined => typeof v === "string" && v ? v : undefined;

interface EngineEntry {
  label: string;
  kind: string;
  config: Record<string, unknown>;
}

const engines = (data: RunData) => (jsonPath(data.manifest, "engines") ?? []) as EngineEntry[];

/** The flags that set behaviour (not where it listens), of the first engine a tier started. */
function keyFlags(data: RunData): string | undefined {
  const e = engines(data)[0];
  if (!e) return undefined;
  try {
    const args = buildServeArgs(parseServeConfig(e.config));
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!a.startsWith("--")) continue;
      const next = args[i + 1];
      const value = next !== undefined && !next.startsWith("--") ? next : undefined;
      if (value !== undefined) i++;
      if (["--host", "--port", "--seed"].includes(a)) continue;
      out.push(value === undefined ? a : `${a} ${value}`);
    }
    return out.join(" ") || "vLLM's defaults";
  } catch {
    return undefined;
  }
}

/** The seed's title with the run's engine, and the SIMULATED banner's place. */
export function dayTitle(data: RunData): Html {
  const model = str(jsonPath(data.manifest, "model")) ?? "each tier's default model";
  return h`<h1><span class="seed">${DAY_TITLE}</span></h1><p>${model} on ${engineText(data)}, run ${
    codeText(str(jsonPath(data.manifest, "run_id")) ?? "?")
  }.</p>`;
}

/** Environment: GPU, OS / kernel, vLLM version, Model (SLM), Key vLLM flags, then the host and servelab. */
export function environmentTemplate(b: FactBook): Html {
  const m = b.data.manifest;
  const sim = isSimulated(b.data);
  const gpu = str(jsonPath(m, "gpu.name")) ?? str(jsonPath(m, "gpu.model"));
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
  const kind = str(jsonPath(m, "engine.kind")) ?? "unknown";
  const version = str(jsonPath(m, "engine.version"));
  const flags = keyFlags(b.data);
  const commit = str(jsonPath(m, "servelab.git_commit"));
  return h`<h2 id="wu-environment">Environment</h2>${
    htmlList([
      h`<strong><span class="seed">GPU:</span></strong> ${
        gpu ?? (sim
          ? h`none: SIMULATED ${
            str(jsonPath(m, "sim_profile")) ?? "?"
          } profile (the embedded engine's model of that GPU)`
          : "none visible (nvidia-smi)")
      }`,
      h`<strong><span class="seed">OS / kernel:</span></strong> ${
        codeText(str(jsonPath(m, "host.os")) ?? "?")
      } / ${codeText(str(jsonPath(m, "host.kernel")) ?? "?")}`,
      h`<strong><span class="seed">vLLM version:</span></strong> ${
        kind === "sim"
          ? h`none: servelab's embedded engine ${
            codeText(version ?? "?")
          } (a vLLM-compatible model, SIMULATED)`
          : kind === "vllm"
          ? codeText(version ?? "?")
          : h`${kind} ${codeText(version ?? "not reported")}`
      }`,
      h`<strong><span class="seed">Model (SLM):</span></strong> ${
        codeText(str(jsonPath(m, "model")) ?? "each tier's default")
      }`,
      h`<strong><span class="seed">Key vLLM flags:</span></strong> ${
        flags ? codeText(flags) : "not recorded (external engine, or no tier started one)"
      }`,
      h`<strong>Host:</strong> ${str(jsonPath(m, "host.cpu_model")) ?? "?"}, ${cores} cores, ${mem}`,
      // The CPU sets as code text: their CPU numbers are not facts (issue 18).
      ...(cpuSetsLine(m) !== undefined
        ? [h`<strong>CPU sets:</strong> ${codeText(cpuSetsLine(m)!.replace(/^CPU sets: /, ""))}`]
        : []),
      h`<strong>servelab:</strong> ${
        codeText(`${str(jsonPath(m, "servelab.version")) ?? "?"} ${commit ? commit.slice(0, 12) : ""}`)
      }, Deno ${codeText(str(jsonPath(m, "deno_version")) ?? "?")}`,
    ])
  }`;
}

/** Commands Run: the server launch commands and the probe/bench commands. */
export function commandsTemplate(data: RunData, tiers: readonly AnyTier[]): Html {
  const m = data.manifest;
  const params = (jsonPath(m, "params") ?? {}) as Record<string, unknown>;
  // Quoted word by word (a model name is text from the user), so each line runs as written in a plain shell.
  const lab = ["./servelab", "run", "--engine", str(jsonPath(m, "engine.kind")) ?? "sim"];
  if (params.size) lab.push("--size", String(params.size));
  if (str(jsonPath(m, "model"))) lab.push("--model", String(jsonPath(m, "model")));
  if (typeof params.url === "string") lab.push("--url", redactUrl(params.url));
  const byCommand = new Map<string, string[]>();
  for (const e of engines(data)) {
    // The lab picked a free port each time; any free port will do, and 8000 is vLLM's own default.
    const cmd = engineCommand(e).replace(/--port \d+/, "--port 8000");
    byCommand.set(cmd, [...byCommand.get(cmd) ?? [], e.label]);
  }
  const launches = [...byCommand].map(([cmd, labels]) => `# ${labels.join(", ")}\n${cmd}`);
  const probes = [
    `# every tier, then this write-up\n${shellLine(lab)}`,
    ...tiers.map((t) =>
      `# ${t.title}: notebooks/${t.notebook}.ipynb (SERVELAB_${t.key.toUpperCase()}_* set its parameters)\n` +
      shellLine([...lab, "--tiers", t.key])
    ),
    `# the health check against a server, with this run's thresholds\n./servelab health --url URL --thresholds thresholds.json`,
  ];
  return h`<h2 id="wu-commands-run">Commands Run</h2>${
    htmlList([
      h`<strong><span class="seed">Server launch commands</span></strong> (each engine a tier started, in order; the port is the free one the lab picked):${
        launches.length
          ? preText(launches.join("\n"))
          : h` none recorded: the engine was external, or no tier started one.`
      }`,
      h`<strong><span class="seed">Probe/bench commands</span></strong> (the lab's probes are the tier notebooks):${
        preText(probes.join("\n"))
      }`,
    ])
  }`;
}

const numberRow = (t: AnyTier, k: KeyNumber): Html[] => [
  h`${k.label}`,
  h`${k.fact}`,
  fileLink(k.fact?.source.file || t.files[0].name),
];

/** Key Numbers: the template's four bullets from the facts, then every tier's key numbers and tables. */
export function keyNumbersTemplate(data: RunData, f: RunFacts, tiers: readonly AnyTier[]): Html {
  const { ttft: t, prefix: p, batching: b } = f;
  const tables = tiers.flatMap((tier) =>
    (tier.keyTables?.(f[tier.key]) ?? []).map((k) =>
      h`<h3>${k.title}</h3>${missingTier(data, tier) ?? htmlTable(k.columns, k.rows)}`
    )
  );
  return h`<h2 id="wu-key-numbers">Key Numbers</h2>${
    htmlList([
      h`<strong><span class="seed">Cold TTFT / Warm TTFT:</span></strong> ${t.cold_p50} / ${t.warm_p50} (p50; ${t.cold_warm}); warm p95 ${t.warm_p95}.`,
      b.one.concurrency
        ? h`<strong><span class="seed">Throughput tok/s (1 vs N concurrent):</span></strong> ${b.one.output_tok_s} at concurrency ${b.one.concurrency} vs ${b.target.output_tok_s} at the concurrency target ${b.target.concurrency} (${b.tok_gain}); requests/s ${b.one.throughput_rps} vs ${b.target.throughput_rps}.`
        : h`<strong><span class="seed">Throughput tok/s (1 vs N concurrent):</span></strong> <em>not measured</em>: ${
          b.rows
            ? h`every one of the ${b.rows} point repeats of the concurrency sweep was invalid (${b.invalid_points}; the batching write-up lists why)`
            : h`the batching tier left no data`
        }.`,
      h`<strong><span class="seed">Prefix caching impact (TTFT, tok/s, memory):</span></strong> at ${p.long_tokens} shared, TTFT p50 ${p.long?.off} off vs ${p.long?.on} on (${p.long?.speedup} faster); output tok/s ${p.long_tok_s_off} vs ${p.long_tok_s_on} (${p.long_tok_gain}); peak KV usage ${p.long_kv_off} vs ${p.long_kv_on}; hit rate ${p.long_hit_rate}.`,
      h`<strong><span class="seed">KV scaling table (max-model-len vs VRAM used):</span></strong> below; the KV cache memory is what the engine reserved for KV at each length, the GPU memory used what the device reported (not measured without a GPU).`,
    ])
  }${tables}<h3>Every key number</h3>${
    htmlTable(
      ["quantity", "value", "from"],
      tiers.flatMap((x) => x.keyNumbers(f[x.key]).map((k) => numberRow(x, k))),
    )
  }`;
}

/** Artifacts Created/Updated: the files the template lists (each tier's `artifacts`, written or not), then the
 * rest of the run folder. */
export function artifactsTemplate(data: RunData, own: readonly string[], tiers: readonly AnyTier[]): Html {
  const has = (n: string) => data.files.includes(n);
  const listed = tiers.flatMap((t) => t.artifacts ?? (t.writeup ? [t.writeup] : []));
  const pages = data.files.filter((n) => n.endsWith(".html") && has(n.replace(/\.html$/, ".ipynb")));
  const others = data.files.filter((n) =>
    /\.(csv|md|svg)$/.test(n) && !listed.includes(n) && !own.includes(n)
  );
  return h`<h2 id="wu-artifacts">Artifacts Created/Updated</h2>${
    htmlList([
      ...listed.map((n) =>
        has(n)
          ? h`${fileLink(n)}`
          : h`${codeText(n)}: <em>not written in this run</em> (its tier did not run or failed)`
      ),
      h`This write-up: ${own.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`)}, and ${
        fileLink("manifest.json")
      }.`,
      h`Notebook reports: ${
        pages.length ? pages.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`) : "none yet"
      }.`,
      h`Other data: ${others.length ? others.map((n, i) => h`${i ? ", " : ""}${fileLink(n)}`) : "none"}.`,
    ])
  }`;
}

/** Observations / Surprises: the template's three questions answered from the facts, then what else. */
export function observationsTemplate(data: RunData, f: RunFacts, tiers: readonly AnyTier[]): Html {
  const { ttft: t, prefix: p, kv: k, batching: b } = f;
  const spikes: Html[] = [];
  if (t.cold_p50) {
    spikes.push(
      h`the cold start: the first request after ready took ${t.cold_p50} against ${t.warm_p50} warm (${t.cold_warm}), first-use work the startup did not do`,
    );
  }
  if (t.idle_max) {
    spikes.push(h`requests after an idle period: up to ${t.idle_max} (${t.idle_factor} the warm p50)`);
  }
  if (t.len_factor) {
    spikes.push(
      h`long prompts: ${t.len_min_p50} at ${t.len_min}, ${t.len_max_p50} at ${t.len_max} (${t.len_factor})`,
    );
  }
  if (b.top.ttft_p95_ms) {
    spikes.push(
      h`queueing under load: TTFT p95 ${b.top.ttft_p95_ms} at concurrency ${b.top.concurrency} with up to ${b.top.waiting_max} waiting`,
    );
  }
  const mostlyBad = !!(p.runs_client_bad && p.runs && p.runs_client_bad.value * 2 >= p.runs.value);
  const helped = p.long?.speedup
    ? h`${
      mostlyBad
        ? h`Indicatively only (${p.runs_client_bad} of ${p.runs} prefix runs failed the client self-check): yes`
        : h`Yes`
    } where requests shared a long start: at ${p.long_tokens} shared, ${p.long.off} to ${p.long.on} (${p.long.speedup}), hit rate ${p.long_hit_rate}. Not for a shared part shorter than a block (${p.short_tokens}: ${p.short?.speedup}); ${
      prefixUnsharedText(p.share_none, p.share_none_hit)
    }; and past the eviction cliff (hit rate ${p.cliff_over_hit} at ${p.cliff_over} the pool).${
      p.runs_client_bad?.value && !mostlyBad
        ? h` ${p.runs_client_bad} of ${p.runs} prefix runs failed the client self-check: indicative numbers.`
        : h``
    }`
    : h`<em>Not measured:</em> the prefix tier left no on/off pair.`;
  const safe = k.safe_len
    ? h`${k.safe_len}: the largest length measured that still holds the concurrency target (${b.target.concurrency}) at full length (${k.safe_len_concurrency} such requests fit). max-model-len does not change the memory taken; it sets how many full-length requests fit.`
    : h`<em>Not measured:</em> ${
      b.target.concurrency
        ? "the KV tier left no length holding the concurrency target"
        : "the batching tier gave no concurrency target to hold"
    }; for a fixed demand (eight full-length requests) the largest length measured was ${k.q13_safe_len}.`;
  const missing = tiers.map((x) => missingTier(data, x)).filter((x): x is Html => x !== undefined);
  return h`<h2 id="wu-observations">Observations / Surprises</h2>${
    htmlList([
      h`<strong><span class="seed">What caused TTFT spikes?</span></strong> ${
        spikes.length ? spikes.map((s, i) => h`${i ? "; " : ""}${s}`) : h`<em>not measured</em>`
      }.`,
      h`<strong><span class="seed">Did prefix caching help? When did it not?</span></strong> ${helped}`,
      h`<strong><span class="seed">What max-model-len feels safe on this GPU?</span></strong> ${safe}`,
    ])
  }${missing}${raw("")}`;
}
