/**
 * Calibrates the embedded engine against vLLM on CPU (docs/sim-validation.md).
 *
 * ```
 * deno run -A tools/real/vllm_calibrate.ts measure --engine vllm|sim [--sim-gpu NAME] --model DIR --out FILE
 *                                                  [--repeats N] [--cpus auto|off|ENGINE_SET]
 * deno run -A tools/real/vllm_calibrate.ts predict --model DIR --sim-gpu NAME --out FILE
 * deno run -A tools/real/vllm_calibrate.ts fit FILE --model DIR --name NAME --out data/gpus/NAME.json
 * deno run -A tools/real/vllm_calibrate.ts compare REAL.json SIM.json [SIM2.json ...] [--set fit|holdout]
 * ```
 *
 * `measure` launches the engine (vLLM from SERVELAB_VLLM_BIN, else .servelab/vllm-venv/bin/vllm), sends
 * the fit workloads (lone prefills, steady decode at several concurrencies) and the held-out workloads
 * (an open-loop Poisson load and a closed loop of mixed prefill and decode), and writes the medians.
 * With `--cpus` (auto: lib/engine/cpus.ts planCpus) the engine's group runs on the engine's CPU set and this
 * process (the load client) on the rest. `fit` turns a real engine's file into a profile with fitted
 * `timing.*` constants (startup: `process_start_s` from the measured time to ready); `compare` prints the
 * error table (markdown) of sim files against the real one.
 * @example
 * ```ts
 * // deno run -A tools/real/vllm_calibrate.ts measure --engine vllm --model .servelab/tiny-model --out /tmp/real.json
 * ```
 * @module
 */
import { existsSync } from "node:fs";
import {
  type BucketHistogram,
  histogramMean,
  itl_ms,
  launch,
  loadGpu,
  loadModel,
  type LoadShape,
  metricsDelta,
  parseServeConfig,
  percentile,
  promptOfTokens,
  type RequestRecord,
  runLoad,
  scrapeMetrics,
  type ServeConfig,
  simulate,
  syntheticRequests,
  ttft_ms,
} from "../../lib/mod.ts";
import { engineArgv, hostCpus, pinProcess, planCpus } from "../../lib/engine/mod.ts";
import { type GpuSpec, startupPhases } from "../../lib/sim/mod.ts";
import { itl_guidellm_ms } from "../../lib/analysis/mod.ts";
import {
  compareHoldout,
  fitProcessStart,
  fitTiming,
  goldenSection,
  type Measurement,
  MeasurementFile,
  mergeRepeats,
  ttftTarget,
  withTiming,
} from "./vllm_calibrate_fit.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** One workload to measure. */
interface Spec {
  name: string;
  set: "fit" | "holdout";
  kind: Measurement["kind"];
  load: LoadShape;
  prompt_tokens: number;
  output_tokens: number;
  count: number;
  warmup: number;
}

/** The workloads: fit ones are simple enough to predict in closed form; held-out ones are not used by the fit. */
export const WORKLOADS: Spec[] = [
  ...[32, 256, 1024, 2048].map((n): Spec => ({
    name: `prefill-${n}`,
    set: "fit",
    kind: "prefill",
    load: { kind: "concurrency", n: 1 },
    prompt_tokens: n,
    output_tokens: 2,
    count: 8,
    warmup: 1,
  })),
  ...[1, 4, 16].map((b): Spec => ({
    name: `decode-c${b}`,
    set: "fit",
    kind: "decode",
    load: { kind: "concurrency", n: b },
    prompt_tokens: 32,
    output_tokens: 128,
    count: Math.max(6, 2 * b),
    warmup: 0,
  })),
  {
    name: "decode-c4-long",
    set: "fit",
    kind: "decode",
    load: { kind: "concurrency", n: 4 },
    prompt_tokens: 1536,
    output_tokens: 64,
    count: 8,
    warmup: 0,
  },
  {
    name: "poisson-3rps",
    set: "holdout",
    kind: "load",
    load: { kind: "rate", rps: 3, burstiness: 1, max_concurrency: 32 },
    prompt_tokens: 384,
    output_tokens: 64,
    count: 60,
    warmup: 0,
  },
  {
    name: "closed-c8",
    set: "holdout",
    kind: "load",
    load: { kind: "concurrency", n: 8 },
    prompt_tokens: 512,
    output_tokens: 96,
    count: 32,
    warmup: 0,
  },
];

/** The serve configuration both engines get (the same flags; the sim reads VLLM_CPU_KVCACHE_SPACE too). */
export function calibrationConfig(engine: "vllm" | "sim", model: string, gpu = "cpu"): ServeConfig {
  return parseServeConfig({
    engine,
    model,
    served_model_name: "tiny",
    max_model_len: 4096,
    enable_prefix_caching: false,
    enforce_eager: true,
    dtype: "float32",
    max_num_seqs: 128,
    max_num_batched_tokens: 2048,
    seed: 0,
    env: { VLLM_CPU_KVCACHE_SPACE: "1" },
    sim: { gpu, startup_time_scale: 0.02 },
  }, "calibration config");
}

function summarize(spec: Spec, records: RequestRecord[]): Measurement {
  const measured = records.filter((r) => r.phase !== "warmup");
  const ok = measured.filter((r) => r.ok);
  const ttfts = ok.map(ttft_ms).filter((v): v is number => v !== undefined);
  const itls = ok.map(itl_guidellm_ms).filter((v): v is number => v !== undefined);
  const gaps = ok.flatMap((r) => itl_ms(r) ?? []);
  const tokens = ok.reduce((s, r) => s + (r.completion_tokens ?? 0), 0);
  const chunks = ok.reduce((s, r) => s + r.chunk_ms.length, 0);
  const errors: Record<string, { count: number; first_message: string }> = {};
  for (const r of measured.filter((x) => !x.ok)) {
    const k = r.error_kind ?? "unknown";
    errors[k] ??= { count: 0, first_message: (r.error_message ?? "").slice(0, 300) };
    errors[k].count++;
  }
  const start = Math.min(...measured.map((r) => r.t_send_ms));
  const end = Math.max(...measured.map((r) => r.t_end_ms));
  const out = ok.reduce((s, r) => s + (r.completion_tokens ?? 0), 0);
  const duration_s = (end - start) / 1000;
  return {
    name: spec.name,
    set: spec.set,
    kind: spec.kind,
    load: JSON.stringify(spec.load),
    concurrency: spec.load.kind === "concurrency" ? spec.load.n : undefined,
    prompt_tokens: spec.prompt_tokens,
    output_tokens: spec.output_tokens,
    requests_ok: ok.length,
    requests_failed: measured.length - ok.length,
    ttft_p50_ms: percentile(ttfts, 50),
    itl_p50_ms: percentile(itls, 50),
    itl_gap_p50_ms: percentile(gaps, 50),
    chunks_per_token: tokens > 0 ? chunks / tokens : undefined,
    errors: Object.keys(errors).length > 0 ? errors : undefined,
    output_tok_s: duration_s > 0 && ok.length > 0 ? out / duration_s : undefined,
    duration_s,
  };
}

/** The 1-minute load average (Linux), undefined elsewhere. */
function loadAvg(): number | undefined {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return undefined;
  }
}

async function measure(args: Record<string, string>): Promise<number> {
  const engine = args.engine === "sim" ? "sim" : args.engine === "vllm" ? "vllm" : undefined;
  if (!engine || !args.model || !args.out) {
    console.error("measure needs --engine vllm|sim, --model DIR and --out FILE.");
    return 2;
  }
  const base = calibrationConfig(engine, args.model, args["sim-gpu"] ?? "cpu");
  const plan = args.cpus === undefined || args.cpus === "off" ? undefined : planCpus(
    hostCpus(),
    args.cpus === "auto" ? undefined : args.cpus,
    args.cpus === "auto" ? "auto" : "--cpus",
  );
  const cfg = plan ? { ...base, cpus: plan.engine } : base;
  if (plan) {
    await pinProcess(Deno.pid, plan.client);
    console.error(`calibrate: engine on CPUs ${plan.engine}, this client on ${plan.client}`);
  }
  const venvBin = `${ROOT}/.servelab/vllm-venv/bin/vllm`;
  const vllm_command = Deno.env.get("SERVELAB_VLLM_BIN")
    ? undefined
    : existsSync(venvBin)
    ? [venvBin]
    : undefined;
  const started_at = new Date().toISOString();
  await using eng = await launch(cfg, { vllm_command });
  console.error(`calibrate: ${engine} up at ${eng.baseUrl} in ${eng.ready_s?.toFixed(1)} s`);
  let seed = 1000;
  const prompts = async (n: number, count: number) => {
    const out: number[][] = [];
    for (let i = 0; i < count; i++) {
      out.push(await promptOfTokens(eng.baseUrl, eng.model, n, { seed: seed++ }));
    }
    return out;
  };
  const request = (ids: number[], output_tokens: number) => ({
    endpoint: "completions" as const,
    model: eng.model,
    prompt: ids,
    max_tokens: output_tokens,
    min_tokens: output_tokens,
    ignore_eos: true,
    temperature: 0,
  });
  const load_avg_start = loadAvg();
  // Cold: the first request after ready; warm: the same shape again, five times.
  const coldIds = await prompts(32, 6);
  const cold = await runLoad(eng.baseUrl, coldIds.map((p) => request(p, 2)), { kind: "concurrency", n: 1 }, {
    count: 6,
  });
  const coldTtft = ttft_ms(cold.records[0]);
  const warmTtft = percentile(
    cold.records.slice(1).map(ttft_ms).filter((v): v is number => v !== undefined),
    50,
  );
  const repeats = Number(args.repeats ?? "1");
  if (!Number.isInteger(repeats) || repeats < 1) {
    console.error(`--repeats needs a positive whole number, got '${args.repeats}'.`);
    return 2;
  }
  // Repeats are interleaved (every workload once, then again), so machine drift spreads over all of them.
  const reps = new Map<string, Measurement[]>();
  for (let rep = 0; rep < repeats; rep++) {
    for (const spec of WORKLOADS) {
      const ids = await prompts(spec.prompt_tokens, spec.count + spec.warmup);
      const before = await scrapeMetrics(eng.baseUrl);
      const res = await runLoad(eng.baseUrl, ids.map((p) => request(p, spec.output_tokens)), spec.load, {
        count: spec.count,
        warmup: spec.warmup,
        seed: 7 + rep,
        timeout_ms: 300_000,
      });
      const after = await scrapeMetrics(eng.baseUrl);
      const delta = metricsDelta(before, after);
      const mean_ms = (h: BucketHistogram | undefined) => {
        const m = h ? histogramMean(h) : undefined;
        return m === undefined ? undefined : m * 1000;
      };
      const m = {
        ...summarize(spec, res.records),
        server_ttft_mean_ms: mean_ms(delta.histograms.ttft_seconds),
        server_itl_mean_ms: mean_ms(delta.histograms.itl_seconds),
        client_lag_p99_ms: res.self_check.event_loop_lag.p99_ms,
        client_ok: res.self_check.client_ok,
      };
      reps.set(spec.name, [...(reps.get(spec.name) ?? []), m]);
      const errs = m.errors ? JSON.stringify(m.errors) : "";
      console.error(
        `calibrate: repeat ${rep + 1} ${m.name}: ttft p50 ${m.ttft_p50_ms?.toFixed(1)} ms, ` +
          `itl p50 ${m.itl_p50_ms?.toFixed(2)} ms, ${
            m.output_tok_s?.toFixed(1)
          } tok/s, ${m.requests_failed} failed ${errs}` +
          `, client lag p99 ${m.client_lag_p99_ms?.toFixed(1)} ms`,
      );
    }
  }
  const workloads = WORKLOADS.map((spec) => mergeRepeats(reps.get(spec.name)!));
  const host = `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`;
  const file: MeasurementFile = {
    engine,
    version: eng.startup?.version,
    model: args.model,
    profile: engine === "sim" ? cfg.sim.gpu : undefined,
    host,
    started_at,
    command: `deno run -A tools/real/vllm_calibrate.ts measure ${Deno.args.slice(1).join(" ")}`,
    serve_args: engineArgv(eng.config),
    load_avg_start,
    load_avg_end: loadAvg(),
    cold_ttft_ms: coldTtft,
    warm_ttft_ms: warmTtft,
    ready_s: eng.ready_s,
    cpus: plan ? { engine: plan.engine, client: plan.client } : undefined,
    workloads,
  };
  await Deno.writeTextFile(args.out, JSON.stringify(MeasurementFile.parse(file), null, 2) + "\n");
  console.error(`calibrate: wrote ${args.out}`);
  return 0;
}

/**
 * The embedded engine's predictions of every workload in virtual time (`simulate`: deterministic, free of
 * this host's noise), as a measurement file. TTFT is the server's (arrival to first token, API-server time
 * included), ITL the per-request mean inter-token time (vLLM's TPOT), throughput output tokens over the
 * measured requests' span.
 */
function predictFile(model: string, gpu: string): MeasurementFile {
  const cfg = calibrationConfig("sim", model, gpu);
  const workloads = WORKLOADS.map((spec, k): Measurement => predictWorkload(cfg, spec, k));
  return {
    engine: "sim (virtual time)",
    model,
    profile: gpu,
    host: "virtual time (deterministic)",
    started_at: new Date().toISOString(),
    command: `deno run -A tools/real/vllm_calibrate.ts predict --model ${model} --sim-gpu ${gpu}`,
    serve_args: engineArgv({ ...cfg, port: 8000 }),
    ready_s: startupPhases(loadModel(model), loadGpu(gpu), cfg).reduce((s, p) => s + p.seconds, 0),
    workloads,
  };
}

/** One workload (the k-th of WORKLOADS) in virtual time; `gpu` replaces the config's profile (fits try values). */
function predictWorkload(cfg: ServeConfig, spec: Spec, k: number, gpu?: GpuSpec): Measurement {
  const load = spec.load.kind === "concurrency"
    ? { kind: "concurrency" as const, n: spec.load.n }
    : { kind: "rate" as const, rps: spec.load.rps, burstiness: 1 as const };
  const requests = syntheticRequests({
    count: spec.count + spec.warmup,
    prompt_tokens: spec.prompt_tokens,
    max_tokens: spec.output_tokens,
    seed: 100 + k,
  });
  const r = simulate(cfg, { requests, load, seed: 7 }, { cold: false, keep_token_times: false, gpu });
  const measured = r.records.slice(spec.warmup);
  const start = Math.min(...measured.map((x) => x.arrival_ms));
  const end = Math.max(...measured.map((x) => x.end_ms));
  const out = measured.reduce((s, x) => s + x.completion_tokens, 0);
  return {
    name: spec.name,
    set: spec.set,
    kind: spec.kind,
    load: JSON.stringify(spec.load),
    concurrency: spec.load.kind === "concurrency" ? spec.load.n : undefined,
    prompt_tokens: spec.prompt_tokens,
    output_tokens: spec.output_tokens,
    requests_ok: measured.length,
    requests_failed: 0,
    ttft_p50_ms: percentile(measured.map((x) => x.ttft_ms), 50),
    itl_p50_ms: percentile(measured.map((x) => x.tpot_ms).filter((v): v is number => v !== undefined), 50),
    // What the engine's histograms would hold over the window (warm-up requests included, as measured).
    server_ttft_mean_ms: r.records.reduce((s, x) => s + x.ttft_ms, 0) / r.records.length,
    server_itl_mean_ms: r.records.reduce((s, x) => s + (x.end_ms - x.first_token_ms), 0) /
      Math.max(1, r.records.reduce((s, x) => s + x.completion_tokens - 1, 0)),
    output_tok_s: end > start ? out / ((end - start) / 1000) : undefined,
    duration_s: (end - start) / 1000,
  };
}

async function fit(file: string, args: Record<string, string>): Promise<number> {
  if (!args.model || !args.name || !args.out) {
    console.error("fit needs FILE, --model DIR, --name NAME and --out FILE.");
    return 2;
  }
  const real = MeasurementFile.parse(JSON.parse(await Deno.readTextFile(file)));
  const model = loadModel(args.model);
  const base = loadGpu(args.base ?? "cpu");
  const cfg = calibrationConfig("sim", args.model, base.name);
  const r = fitTiming(model, base, cfg, real.workloads);
  const round = (x: number) => Number(x.toPrecision(4));
  const timing = Object.fromEntries(Object.entries(r.timing).map(([k, v]) => [k, round(v)]));
  const first = real.cold_ttft_ms !== undefined && real.warm_ttft_ms !== undefined
    ? Math.max(0, round(real.cold_ttft_ms - real.warm_ttft_ms))
    : undefined;
  const source =
    `fitted (tools/real/vllm_calibrate.ts fit) to vLLM ${real.version ?? "?"} on ${real.host}, ` +
    `${real.started_at.slice(0, 10)}; docs/sim-validation.md`;
  let profile = withTiming(base, args.name, timing, source);
  if (first !== undefined) {
    profile = withTiming(
      profile,
      args.name,
      { first_request_ms: first },
      `measured: cold minus warm TTFT of a 32-token prompt, ${source}`,
    );
  }
  // Second stage: the API server's time per request already streaming, from the TTFT of the fit set's closed
  // loops (a request arriving while others stream waits for their output processing), each predicted by a
  // closed-loop simulation; lone prefills and decode ITL do not depend on it, so the first stage stands.
  const loops = real.workloads.flatMap((w) => {
    const k = WORKLOADS.findIndex((s) => s.name === w.name);
    const t = ttftTarget(w);
    return w.set === "fit" && w.kind === "decode" && k >= 0 && t ? [{ spec: WORKLOADS[k], k, ...t }] : [];
  });
  if (loops.length > 0) {
    const loss = (ms: number) => {
      const gpu = { ...profile, timing: { ...profile.timing, frontend_per_stream_ms: ms } };
      return loops.reduce((s, o) => {
        const pw = predictWorkload(cfg, o.spec, o.k, gpu);
        const p = o.side === "client" ? pw.ttft_p50_ms! : pw.server_ttft_mean_ms!;
        return s + Math.log(p / o.v) ** 2;
      }, 0);
    };
    const per_stream = round(goldenSection(loss, 0, 20));
    profile = withTiming(
      profile,
      args.name,
      { frontend_per_stream_ms: per_stream },
      `fitted: TTFT (${
        [...new Set(loops.map((o) => o.side === "client" ? "client p50" : "engine mean"))].join(", ")
      }) of the fit set's closed loops (${loops.map((o) => o.spec.name).join(", ")}), simulated, ${source}`,
    );
    console.log(`frontend_per_stream_ms ${per_stream} (closed-loop TTFT of ${loops.length} fit workloads)`);
  }
  if (real.ready_s !== undefined) {
    const process_start_s = round(fitProcessStart(real.ready_s, startupPhases(model, profile, cfg)));
    profile = withTiming(
      profile,
      args.name,
      { process_start_s },
      `fitted: measured time to ready ${
        real.ready_s.toFixed(1)
      } s minus the other simulated phases, ${source}`,
    );
  }
  const out = {
    ...profile,
    aliases: [],
    description: `${base.description}, timing fitted to vLLM ${
      real.version ?? "?"
    } (vllm-cpu) serving the lab's tiny model`,
  };
  await Deno.writeTextFile(args.out, JSON.stringify(out, null, 2) + "\n");
  console.log(
    `| workload | metric | measured ms | fitted ms | error % |\n| --- | --- | ---: | ---: | ---: |`,
  );
  for (const x of r.residuals) {
    console.log(
      `| ${x.name} | ${x.metric} | ${x.measured_ms.toFixed(2)} | ${x.predicted_ms.toFixed(2)} | ${
        x.error_pct.toFixed(1)
      } |`,
    );
  }
  console.log(`\nrms log error ${r.rms_log_error.toFixed(3)}; timing ${JSON.stringify(profile.timing)}`);
  return 0;
}

async function compare(files: string[], set: "fit" | "holdout"): Promise<number> {
  if (files.length < 2) {
    console.error("compare needs REAL.json and at least one SIM.json.");
    return 2;
  }
  const [real, ...sims] = await Promise.all(
    files.map(async (f) => MeasurementFile.parse(JSON.parse(await Deno.readTextFile(f)))),
  );
  const label = (f: MeasurementFile) => f.profile ?? `${f.engine} ${f.started_at.slice(11, 16)}`;
  console.log(
    `| workload | metric | real | real repeats | ${sims.map((s) => `${label(s)} (err %)`).join(" | ")} |`,
  );
  console.log(`| --- | --- | ---: | ---: | ${sims.map(() => "---:").join(" | ")} |`);
  const tables = sims.map((s) => compareHoldout(real, s, set));
  for (const row of tables[0]) {
    const runs = real.workloads.find((w) => w.name === row.workload)?.runs;
    const vals = (runs?.[row.metric as keyof typeof runs] ?? []).filter((v): v is number => v !== undefined);
    const range = vals.length > 1 ? `${Math.min(...vals).toFixed(1)}-${Math.max(...vals).toFixed(1)}` : "";
    const cells = tables.map((t) => {
      const x = t.find((r) => r.workload === row.workload && r.metric === row.metric);
      return x
        ? `${x.predicted.toFixed(2)} (${x.error_pct >= 0 ? "+" : ""}${x.error_pct.toFixed(1)})`
        : "n/a";
    });
    console.log(
      `| ${row.workload} | ${row.metric} | ${row.real.toFixed(2)} | ${range} | ${cells.join(" | ")} |`,
    );
  }
  if (real.ready_s !== undefined) {
    const cells = sims.map((s) =>
      s.ready_s === undefined
        ? "n/a"
        : `${s.ready_s.toFixed(2)} (${s.ready_s >= real.ready_s! ? "+" : ""}${
          (100 * (s.ready_s - real.ready_s!) / real.ready_s!).toFixed(1)
        })`
    );
    console.log(`| startup | ready_s | ${real.ready_s.toFixed(2)} |  | ${cells.join(" | ")} |`);
  }
  return 0;
}

function parseFlags(argv: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--")) flags[argv[i].slice(2)] = argv[++i] ?? "";
    else positional.push(argv[i]);
  }
  return { positional, flags };
}

/**
 * Runs the calibration CLI; resolves with the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await main(["compare", "real.json", "sim.json"]));
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const { positional, flags } = parseFlags(rest);
  switch (verb) {
    case "measure":
      return await measure(flags);
    case "fit":
      return await fit(positional[0], flags);
    case "predict": {
      if (!flags.model || !flags.out) {
        console.error("predict needs --model DIR, --sim-gpu NAME and --out FILE.");
        return 2;
      }
      const f = predictFile(flags.model, flags["sim-gpu"] ?? "cpu");
      await Deno.writeTextFile(flags.out, JSON.stringify(MeasurementFile.parse(f), null, 2) + "\n");
      return 0;
    }
    case "compare":
      return await compare(positional, flags.set === "fit" ? "fit" : "holdout");
    default:
      console.error("Usage: vllm_calibrate.ts measure|fit|compare ... (see the module doc)");
      return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
