/**
 * The embedded engine's prediction beside a real-engine run: each measured point of a run's TTFT and
 * batching tiers is replayed in virtual time ({@link simulate}) with the same requests (prompt lengths,
 * output lengths, order, concurrency) on a named device profile, and the medians are set side by side
 * with the error. tools/sim_beside.ts writes the page into the run's folder.
 *
 * @example
 * ```ts
 * const rows = besideRun("docs/examples/vllm-cpu-tiny", { profile: "cpu-calibrated", model: "servelab/tiny-llama" });
 * rows.find((r) => r.point === "warm" && r.metric === "ttft_ms")?.error; // e.g. -0.2
 * ```
 * @module
 */
import { parse } from "csv-parse/sync";
import { parseServeConfig, type ServeConfig } from "../engine/config.ts";
import { loadGpu } from "./catalog.ts";
import { simulate, syntheticRequests, type WorkloadRequest } from "./simulate.ts";

/** One number of a run beside the engine's prediction. */
export interface BesideRow {
  tier: "ttft" | "batching";
  point: string;
  metric: "ttft_ms" | "tpot_ms" | "throughput_rps";
  /** How many requests the measured median covers. */
  n: number;
  measured: number;
  /** SIMULATED. */
  predicted: number;
  error: number;
}

/** Options of {@link besideRun}. */
export interface BesideOptions {
  /** Device profile of data/gpus/ the prediction uses (named on the page). */
  profile: string;
  /** Catalog model id standing for the run's model (a local path is not in the catalog). */
  model: string;
  /** Serve flags the run used that change the engine's timing (default: the lab's vLLM CPU flags). */
  config?: Partial<{ enforce_eager: boolean; dtype: "float32" | "bfloat16" | "float16" | "auto" }>;
}

type Csv = Record<string, string>[];

function readCsv(path: string): Csv {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}. Give the folder of a kept run.`);
  }
  return parse(text, { columns: true, skip_empty_lines: true }) as Csv;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function simConfig(o: BesideOptions, prefix: boolean): ServeConfig {
  loadGpu(o.profile);
  return parseServeConfig({
    engine: "sim",
    model: o.model,
    max_model_len: 8192,
    enable_prefix_caching: prefix,
    enforce_eager: o.config?.enforce_eager ?? true,
    dtype: o.config?.dtype ?? "float32",
    seed: 0,
    env: { VLLM_CPU_KVCACHE_SPACE: "1" },
    sim: { gpu: o.profile },
  }, "beside config");
}

/** Requests of the given lengths, each prompt distinct (no prefix-cache hits, as the tiers send them). */
function requestsOf(lengths: { prompt: number; output: number }[], seed: number): WorkloadRequest[] {
  return lengths.map((l, i) => ({
    ...syntheticRequests({
      count: 1,
      prompt_tokens: l.prompt,
      max_tokens: Math.max(1, l.output),
      seed: seed + i,
    })[0],
  }));
}

function row(
  tier: BesideRow["tier"],
  point: string,
  metric: BesideRow["metric"],
  n: number,
  measured: number,
  predicted: number,
): BesideRow[] {
  if (!Number.isFinite(measured) || !Number.isFinite(predicted) || measured <= 0) return [];
  return [{ tier, point, metric, n, measured, predicted, error: (predicted - measured) / measured }];
}

/**
 * TTFT tier (ttft.csv): cold (each launch's first request, on a cold engine), warm, and each prompt length,
 * replayed one request at a time as the tier sends them. The idle and chat series are not replayed.
 */
export function besideTtft(dir: string, o: BesideOptions): BesideRow[] {
  const rows = readCsv(`${dir}/ttft.csv`).filter((r) => r.ok === "true" && r.endpoint === "completions");
  const cfg = simConfig(o, true);
  const out: BesideRow[] = [];
  const groups = new Map<string, Csv>();
  for (const r of rows) {
    if (r.series === "idle") continue;
    const key = r.series === "length" ? `length-${r.prompt_tokens_target}` : r.series;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, g] of groups) {
    const lengths = g.map((r) => ({ prompt: Number(r.prompt_tokens), output: Number(r.completion_tokens) }));
    let ttft: number[], tpot: number[];
    if (key === "cold") {
      // One fresh engine per launch: the first request pays the warm-up penalty.
      const rs = lengths.map((l, i) =>
        simulate(cfg, { requests: requestsOf([l], 100 + i), load: { kind: "concurrency", n: 1 } }, {
          cold: true,
        })
          .records[0]
      );
      ttft = rs.map((r) => r.ttft_ms);
      tpot = rs.map((r) => r.tpot_ms ?? NaN);
    } else {
      const r = simulate(cfg, { requests: requestsOf(lengths, 200), load: { kind: "concurrency", n: 1 } }, {
        cold: false,
      });
      ttft = r.records.map((x) => x.ttft_ms);
      tpot = r.records.map((x) => x.tpot_ms ?? NaN);
    }
    out.push(...row("ttft", key, "ttft_ms", g.length, median(g.map((r) => Number(r.ttft_ms))), median(ttft)));
    out.push(
      ...row("ttft", key, "tpot_ms", g.length, median(g.map((r) => Number(r.tpot_ms || NaN))), median(tpot)),
    );
  }
  return out;
}

/**
 * Batching tier (concurrency_sweep.csv, batching_requests.csv): each concurrency point's requests (warm-up
 * and measured, in order, with their own lengths) replayed closed-loop at that concurrency; medians over
 * the measured requests, throughput over the measured requests' span.
 */
export function besideBatching(dir: string, o: BesideOptions): BesideRow[] {
  const points = readCsv(`${dir}/concurrency_sweep.csv`);
  const reqs = readCsv(`${dir}/batching_requests.csv`);
  const cfg = simConfig(o, true);
  const out: BesideRow[] = [];
  for (const p of points) {
    const mine = reqs.filter((r) => r.point_id === p.point_id && r.ok === "true");
    if (mine.length === 0) continue;
    const c = Number(p.concurrency);
    const lengths = mine.map((r) => ({
      prompt: Number(r.prompt_tokens),
      output: Number(r.completion_tokens),
    }));
    const sim = simulate(cfg, { requests: requestsOf(lengths, 300), load: { kind: "concurrency", n: c } }, {
      cold: false,
      keep_token_times: false,
    });
    const measured = sim.records.filter((_, i) => mine[i].phase === "measure");
    const span = Math.max(...measured.map((r) => r.end_ms)) - Math.min(...measured.map((r) => r.arrival_ms));
    const n = measured.length;
    out.push(
      ...row(
        "batching",
        `c${c} ${p.point_id}`,
        "ttft_ms",
        n,
        Number(p.ttft_p50_ms),
        median(measured.map((r) => r.ttft_ms)),
      ),
    );
    out.push(
      ...row(
        "batching",
        `c${c} ${p.point_id}`,
        "tpot_ms",
        n,
        Number(p.tpot_p50_ms),
        median(measured.map((r) => r.tpot_ms ?? NaN)),
      ),
    );
    out.push(
      ...row(
        "batching",
        `c${c} ${p.point_id}`,
        "throughput_rps",
        n,
        Number(p.throughput_rps),
        n / (span / 1000),
      ),
    );
  }
  return out;
}

/** Every replayable tier of a kept run. */
export function besideRun(dir: string, o: BesideOptions): BesideRow[] {
  const out: BesideRow[] = [];
  if (exists(`${dir}/ttft.csv`)) out.push(...besideTtft(dir, o));
  if (exists(`${dir}/concurrency_sweep.csv`) && exists(`${dir}/batching_requests.csv`)) {
    out.push(...besideBatching(dir, o));
  }
  if (out.length === 0) {
    throw new Error(
      `${dir} has no ttft.csv or concurrency_sweep.csv with batching_requests.csv: nothing to replay.`,
    );
  }
  return out;
}

const fmt = (x: number) => x >= 100 ? x.toFixed(0) : x.toPrecision(3);

/** The page: every measured number beside the SIMULATED prediction and the error, and the median |error|. */
export function besideMarkdown(
  rows: BesideRow[],
  o: BesideOptions & { run: string; engine: string },
): string {
  const lines = [
    `# Predicted beside measured: run ${o.run}`,
    "",
    `Measured: ${o.engine}. Predicted (**SIMULATED**): the embedded engine on the \`${o.profile}\` profile ` +
    `with model ${o.model}, each point's requests replayed in virtual time with the run's own ` +
    "prompt and output lengths, order and concurrency (`deno run -A tools/sim_beside.ts`). Error = " +
    "predicted / measured - 1.",
    "",
    "| tier | point | metric | n | measured | predicted (SIMULATED) | error |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.tier} | ${r.point} | ${r.metric} | ${r.n} | ${fmt(r.measured)} | ${fmt(r.predicted)} | ` +
        `${r.error >= 0 ? "+" : ""}${(r.error * 100).toFixed(0)} % |`,
    );
  }
  lines.push("", "Median |error| per metric:", "");
  for (const m of ["ttft_ms", "tpot_ms", "throughput_rps"] as const) {
    const es = rows.filter((r) => r.metric === m).map((r) => Math.abs(r.error));
    if (es.length) lines.push(`- ${m}: ${(median(es) * 100).toFixed(0)} % over ${es.length} points`);
  }
  lines.push(
    "",
    "Not replayed: the TTFT tier's idle and chat series, the prefix-caching and KV tiers (their measured " +
      "numbers depend on cache state and memory the replay does not reproduce).",
  );
  return lines.join("\n") + "\n";
}
