/**
 * Soak: the embedded engine at its sweet-spot concurrency for `--minutes` (default 10) with faults
 * injected at a low rate (HTTP 500s and connections dropped mid-stream, the engine's `--sim-*` fault
 * flags), reporting requests, failures by kind, and the resident memory (VmRSS) of both processes over
 * time, the load client (this process) and the engine's server process, with a growth check.
 *
 * The concurrency is Tier 3b's sweet spot (`batching.knee` and `batching.sweetSpot` with Tier 3b's SLO and
 * knee rule) from a short closed-loop sweep at the start, unless `--concurrency` is given. The workload is
 * Tier 3b's: 512-token prompts of distinct token ids (no prefix-cache hits), 8-24 output tokens with
 * ignore_eos. The load runs in windows of `--window-s` seconds (each a closed-loop `runLoad`), so the
 * client keeps only one window's records in memory: its RSS measures the lab's code, not the bench's
 * bookkeeping. RSS is read from /proc/<pid>/status every `--sample-s` seconds.
 *
 * Growth check: a least-squares line through each process's RSS over the second half of the run (the first
 * half holds warm-up: JIT, allocator pools, the engine's bounded ground-truth store filling up). A process
 * is "growing" when that slope, per hour, exceeds 10% of its median RSS in the window (at least 16 MiB).
 *
 * Run: `./servelab bench soak -- [--minutes 10] [--concurrency N] [--http-500-rate 0.002]
 *   [--drop-rate 0.002] [--sample-s 5] [--window-s 30]` (writes bench/results/<date>-soak.md).
 * Every number the embedded engine produces is SIMULATED.
 * @module
 */
import { linearRegression } from "simple-statistics";
import { z } from "zod";
import {
  batching,
  type Engine,
  launch,
  parseServeConfig,
  percentile,
  type ProbeRequest,
  type RequestRecord,
  runLoad,
  tpot_ms,
  ttft_ms,
} from "../lib/mod.ts";
import { pidAlive } from "../lib/engine/mod.ts";

/** The soak's options. */
export const SoakArgs = z.object({
  minutes: z.number().positive(),
  /** Closed-loop concurrency; default: the sweet spot of a short sweep. */
  concurrency: z.number().int().positive().optional(),
  http_500_rate: z.number().min(0).max(1),
  drop_rate: z.number().min(0).max(1),
  sample_s: z.number().positive(),
  window_s: z.number().positive(),
  /** Seconds per point of the sweet-spot sweep. */
  sweep_s: z.number().positive(),
  model: z.string().min(1),
}).strict();
export type SoakArgs = z.infer<typeof SoakArgs>;

const DEFAULTS: SoakArgs = {
  minutes: 10,
  http_500_rate: 0.002,
  drop_rate: 0.002,
  sample_s: 5,
  window_s: 30,
  sweep_s: 4,
  model: "Qwen/Qwen2.5-1.5B-Instruct",
};

/**
 * Parses `--name value` / `--name=value` options (names with dashes) over the defaults.
 *
 * @example
 * ```ts
 * parseSoakArgs(["--minutes", "1", "--concurrency=16"]).concurrency; // 16
 * ```
 */
export function parseSoakArgs(args: readonly string[]): SoakArgs {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const m = a.match(/^--([a-z0-9-]+)(?:=(.*))?$/);
    if (!m) throw new Error(`Unknown argument '${a}': options are --name value, e.g. --minutes 1.`);
    const key = m[1].replaceAll("-", "_");
    if (!(key in SoakArgs.shape)) {
      throw new Error(
        `Unknown option '--${m[1]}'. Options: ${
          Object.keys(SoakArgs.shape).map((k) => "--" + k.replaceAll("_", "-")).join(", ")
        }.`,
      );
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new Error(`Option '--${m[1]}' needs a value.`);
    raw[key] = key === "model" ? value : Number(value);
  }
  const parsed = SoakArgs.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `Invalid soak options: ${z.prettifyError(parsed.error)}. Example: --minutes 1 --concurrency 16.`,
    );
  }
  return parsed.data;
}

/** Resident memory of a process in MiB (VmRSS of /proc/<pid>/status); undefined when it is gone. */
export function rssMib(pid: number): number | undefined {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** What the growth check found for one process. */
export interface Growth {
  /** Least-squares slope of the bins' floors over the judged window, MiB per minute. */
  slope_mib_per_min: number;
  median_mib: number;
  /** Growth per hour above which the process counts as growing: max(16, 10% of median) MiB. */
  threshold_mib_per_hour: number;
  /** "too_short" when the judged window spans less than `min_span_s`: warm-up still dominates. */
  verdict: "growing" | "flat" | "too_short";
  /** Samples in the judged window, and its start, s. */
  n: number;
  from_s: number;
}

/**
 * The growth check over `(t_s, mib)` samples from `from_fraction` of the run on (default the second half):
 * the samples are cut into `bin_s` bins (default 30 s) and the line is fitted through each bin's lowest
 * value, the floor a garbage collector returns to, so a heap's sawtooth does not read as growth while a
 * rising floor does. Undefined with fewer than 3 bins; verdict "too_short" when the window spans less than
 * `min_span_s` (default 120 s: a soak of at least 4 minutes).
 *
 * @example
 * ```ts
 * growthCheck([0, 60, 120, 180].map((t_s) => ({ t_s, mib: 100 })), { from_fraction: 0, bin_s: 60 })?.verdict; // "flat"
 * ```
 */
export function growthCheck(
  samples: readonly { t_s: number; mib: number }[],
  opts: { from_fraction?: number; min_span_s?: number; bin_s?: number } = {},
): Growth | undefined {
  if (samples.length === 0) return undefined;
  const end = samples[samples.length - 1].t_s;
  const from_s = end * (opts.from_fraction ?? 0.5);
  const w = samples.filter((s) => s.t_s >= from_s);
  const bin_s = opts.bin_s ?? 30;
  const floors = new Map<number, { t_s: number; mib: number }>();
  for (const s of w) {
    const k = Math.floor((s.t_s - from_s) / bin_s);
    const f = floors.get(k);
    if (!f || s.mib < f.mib) floors.set(k, { t_s: from_s + (k + 0.5) * bin_s, mib: s.mib });
  }
  if (floors.size < 3) return undefined;
  const fit = linearRegression([...floors.values()].map((b) => [b.t_s, b.mib]));
  const slope_mib_per_min = fit.m * 60;
  const median_mib = percentile(w.map((s) => s.mib), 50)!;
  const threshold_mib_per_hour = Math.max(16, 0.1 * median_mib);
  return {
    slope_mib_per_min,
    median_mib,
    threshold_mib_per_hour,
    verdict: end - w[0].t_s < (opts.min_span_s ?? 120)
      ? "too_short"
      : slope_mib_per_min * 60 > threshold_mib_per_hour
      ? "growing"
      : "flat",
    n: w.length,
    from_s,
  };
}

/** Tier 3b's workload: request i, 512 distinct prompt token ids, 8-24 output tokens, ignore_eos. */
function request(model: string, i: number): ProbeRequest {
  const base = (i * 7919) % 5000;
  const prompt = Array.from({ length: 512 }, (_, k) => 100 + ((base + k * 31) % 5000));
  const out = 8 + ((i * 7) % 17);
  return { endpoint: "completions", model, prompt, max_tokens: out, min_tokens: out, ignore_eos: true };
}

/** One point of the sweet-spot sweep. */
interface SweepRow extends batching.SloPoint {
  requests: number;
  failed: number;
  lag_p99_ms?: number;
}

async function sweep(engine: Engine, seconds: number, levels = [1, 4, 16, 64]): Promise<SweepRow[]> {
  const P = batching.PRESETS.default;
  const rows: SweepRow[] = [];
  let next = 0;
  for (const c of levels) {
    const { records, self_check } = await runLoad(engine.baseUrl, (i) => request(engine.model, next + i), {
      kind: "concurrency",
      n: c,
    }, {
      duration_s: seconds,
      warmup: c,
      timeout_ms: 30_000,
      headers: engine.headers(),
      max_lag_p99_ms: P.max_client_lag_ms,
    });
    next += records.length;
    const m = records.filter((r) => r.phase === "measure");
    const ok = m.filter((r) => r.ok);
    const span_s = ok.length
      ? (Math.max(...ok.map((r) => r.t_end_ms)) - Math.min(...m.map((r) => r.t_send_ms))) / 1000
      : 0;
    rows.push({
      concurrency: c,
      throughput_rps: span_s > 0 ? ok.length / span_s : undefined,
      ttft_p95_ms: percentile(ok.map(ttft_ms).filter((x): x is number => x !== undefined), 95),
      tpot_p95_ms: percentile(ok.map(tpot_ms).filter((x): x is number => x !== undefined), 95),
      valid: self_check.client_ok && m.length > 0 && (m.length - ok.length) / m.length <= 0.05,
      requests: m.length,
      failed: m.length - ok.length,
      lag_p99_ms: self_check.event_loop_lag.p99_ms,
    });
  }
  return rows;
}

/** One window of the soak. */
interface WindowRow {
  end_s: number;
  requests: number;
  ok: number;
  failed: Record<string, number>;
  rps: number;
  ttft_p50_ms?: number;
  ttft_p95_ms?: number;
  lag_p99_ms?: number;
}

interface Sample {
  t_s: number;
  client_mib?: number;
  server_mib?: number;
  client_heap_mib: number;
  /** The engine's heap after a full GC (GET /servelab/heap), MiB; undefined when the request failed. */
  server_heap_gc_mib?: number;
  /** Ground-truth records the engine kept at that moment (bounded store, 20,000 by default). */
  server_truth_records?: number;
  requests: number;
}

/** The engine's heap after a full GC and its kept ground-truth records (GET /servelab/heap). */
async function serverHeap(baseUrl: string): Promise<{ mib?: number; records?: number }> {
  try {
    const r = await fetch(`${baseUrl}/servelab/heap`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) {
      await r.body?.cancel();
      return {};
    }
    const h = await r.json();
    return { mib: h.heap_used_bytes / 2 ** 20, records: h.ground_truth_records };
  } catch {
    return {};
  }
}

const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const w = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(w[i])).join("  ");
  return [line(headers), line(w.map((x) => "-".repeat(x))), ...cells.map(line)].join("\n");
}

function failureKinds(records: readonly RequestRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (!r.ok) out[r.error_kind ?? "unknown"] = (out[r.error_kind ?? "unknown"] ?? 0) + 1;
  }
  return out;
}

/** Runs the soak and prints its report; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let a: SoakArgs;
  try {
    a = parseSoakArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const logs = await Deno.makeTempDir({ prefix: "servelab-soak-" });
  const cfg = parseServeConfig({
    engine: "sim",
    model: a.model,
    max_model_len: 4096,
    sim: { debug_heap: true, faults: { http_500_rate: a.http_500_rate, drop_connection_rate: a.drop_rate } },
  });
  try {
    await using engine = await launch(cfg, { log_dir: logs, log_name: "soak" });
    const server_pid = engine.pid!;
    console.log(
      `SIMULATED: embedded engine ${
        engine.startup?.version ?? ""
      }, ${cfg.sim.gpu} profile, model ${cfg.model}`,
    );
    console.log(`faults: --sim-http-500-rate ${a.http_500_rate} --sim-drop-connection-rate ${a.drop_rate}`);
    console.log(`client pid ${Deno.pid} (this process, the load generator), server pid ${server_pid}\n`);

    let concurrency = a.concurrency;
    if (concurrency === undefined) {
      const P = batching.PRESETS.default;
      const rows = await sweep(engine, a.sweep_s);
      const knee = batching.knee(rows, { min_gain: P.knee_gain });
      const sweet = batching.sweetSpot(
        rows,
        { ttft_p95_ms: P.slo_ttft_ms, tpot_p95_ms: P.slo_tpot_ms },
        knee,
        {
          range_fraction: P.range_fraction,
        },
      );
      console.log(`sweet-spot sweep (${a.sweep_s} s per point, Tier 3b's rules and SLO):`);
      console.log(table(
        ["concurrency", "requests", "failed", "req/s", "ttft_p95_ms", "tpot_p95_ms", "lag_p99_ms", "valid"],
        rows.map((
          r,
        ) => [
          r.concurrency,
          r.requests,
          r.failed,
          f(r.throughput_rps),
          f(r.ttft_p95_ms),
          f(r.tpot_p95_ms),
          f(r.lag_p99_ms),
          String(r.valid),
        ]),
      ));
      console.log(`knee: ${knee.reason}`);
      console.log(`sweet spot: ${sweet.reason}\n`);
      concurrency = sweet.kind === "sweet_spot"
        ? sweet.concurrency
        : knee.kind === "knee"
        ? knee.concurrency
        : 16;
      if (sweet.kind !== "sweet_spot") console.log(`no sweet spot: soaking at c=${concurrency}\n`);
    }

    const t0 = performance.now();
    const now_s = () => (performance.now() - t0) / 1000;
    const end_s = a.minutes * 60;
    const samples: Sample[] = [];
    const windows: WindowRow[] = [];
    let done = 0, next = 0;
    let engineDied: number | undefined;
    const sample = async () => {
      const client_mib = rssMib(Deno.pid), server_mib = rssMib(server_pid);
      if (engineDied === undefined && !pidAlive(server_pid)) engineDied = now_s();
      const t_s = now_s(), requests = done;
      const heap = await serverHeap(engine.baseUrl);
      samples.push({
        t_s,
        client_mib,
        server_mib,
        client_heap_mib: Deno.memoryUsage().heapUsed / 2 ** 20,
        server_heap_gc_mib: heap.mib,
        server_truth_records: heap.records,
        requests,
      });
    };
    await sample();
    const timer = setInterval(() => void sample(), a.sample_s * 1000);
    const totals: Record<string, number> = {};
    let requests = 0, ok = 0;
    try {
      while (now_s() < end_s && engineDied === undefined) {
        const duration_s = Math.min(a.window_s, end_s - now_s());
        const w0 = now_s();
        const { records, self_check } = await runLoad(
          engine.baseUrl,
          (i) => request(engine.model, next + i),
          {
            kind: "concurrency",
            n: concurrency,
          },
          {
            duration_s,
            timeout_ms: 30_000,
            headers: engine.headers(),
            on_record: () => void done++,
            max_lag_p99_ms: 15,
          },
        );
        next += records.length;
        const good = records.filter((r) => r.ok);
        const failed = failureKinds(records);
        for (const [k, n] of Object.entries(failed)) totals[k] = (totals[k] ?? 0) + n;
        requests += records.length;
        ok += good.length;
        const ttfts = good.map(ttft_ms).filter((x): x is number => x !== undefined);
        windows.push({
          end_s: now_s(),
          requests: records.length,
          ok: good.length,
          failed,
          rps: records.length / (now_s() - w0),
          ttft_p50_ms: percentile(ttfts, 50),
          ttft_p95_ms: percentile(ttfts, 95),
          lag_p99_ms: self_check.event_loop_lag.p99_ms,
        });
      }
    } finally {
      clearInterval(timer);
      await sample();
    }
    const elapsed = now_s();

    console.log(
      `soak: c=${concurrency} closed loop for ${
        f(elapsed / 60, 2)
      } min in ${windows.length} windows of up to ${a.window_s} s`,
    );
    const kinds = Object.keys(totals).sort();
    console.log(table(
      [
        "end_s",
        "requests",
        "ok",
        ...kinds.map((k) => `fail_${k}`),
        "req/s",
        "ttft_p50_ms",
        "ttft_p95_ms",
        "lag_p99_ms",
      ],
      windows.map((
        w,
      ) => [
        f(w.end_s, 0),
        w.requests,
        w.ok,
        ...kinds.map((k) => w.failed[k] ?? 0),
        f(w.rps),
        f(w.ttft_p50_ms),
        f(w.ttft_p95_ms),
        f(w.lag_p99_ms),
      ]),
    ));
    const failedN = requests - ok;
    console.log(
      `\nrequests: ${requests} (${f(requests / elapsed)} req/s), ok ${ok}, failed ${failedN} (${
        f((100 * failedN) / Math.max(1, requests), 2)
      }%)`,
    );
    console.log(
      `failures by kind: ${kinds.length ? kinds.map((k) => `${k} ${totals[k]}`).join(", ") : "none"}`,
    );
    const expected500 = requests * a.http_500_rate;
    const expectedDrop = requests * (1 - a.http_500_rate) * a.drop_rate;
    console.log(
      `expected from the fault rates: ~${f(expected500, 0)} HTTP 500 (http_status), ~${
        f(expectedDrop, 0)
      } dropped mid-stream (connection)`,
    );
    const unexplained = kinds.filter((k) => k !== "http_status" && k !== "connection");
    console.log(
      unexplained.length
        ? `failures the injected faults do not explain: ${
          unexplained.map((k) => `${k} ${totals[k]}`).join(", ")
        }`
        : "every failure is of a kind the injected faults explain (http_status, connection)",
    );
    if (engineDied !== undefined) console.log(`THE ENGINE DIED at t=${f(engineDied, 0)} s`);

    console.log(
      `\nmemory (VmRSS, MiB) every ${a.sample_s} s; rows every ${
        Math.max(1, Math.round(30 / a.sample_s)) * a.sample_s
      } s:`,
    );
    const every = Math.max(1, Math.round(30 / a.sample_s));
    const shown = samples.filter((_, i) => i % every === 0 || i === samples.length - 1);
    console.log(table(
      [
        "t_s",
        "requests",
        "client_rss_mib",
        "client_heap_mib",
        "server_rss_mib",
        "server_heap_gc_mib",
        "truth_records",
      ],
      shown.map((s) => [
        f(s.t_s, 0),
        s.requests,
        f(s.client_mib),
        f(s.client_heap_mib),
        f(s.server_mib),
        f(s.server_heap_gc_mib),
        s.server_truth_records ?? "-",
      ]),
    ));
    console.log(
      "\ngrowth check (least squares through the 30 s floors of the second half; growing = slope per hour > max(16 MiB, 10% of median)):",
    );
    for (
      const [name, key] of [
        ["client", "client_mib"],
        ["server", "server_mib"],
        ["server heap after GC", "server_heap_gc_mib"],
      ] as const
    ) {
      const pts = samples.filter((s) => s[key] !== undefined).map((s) => ({ t_s: s.t_s, mib: s[key]! }));
      const g = growthCheck(pts);
      const first = pts[0]?.mib, last = pts.at(-1)?.mib;
      console.log(
        g
          ? `  ${name}: ${f(first)} -> ${f(last)} MiB over the run; second half: slope ${
            f(g.slope_mib_per_min, 3)
          } MiB/min ` +
            `(${f(g.slope_mib_per_min * 60)} MiB/h, threshold ${f(g.threshold_mib_per_hour)} MiB/h), median ${
              f(g.median_mib)
            } MiB, ${g.n} samples: ${
              g.verdict === "too_short"
                ? "TOO SHORT TO JUDGE (run 4 minutes or more)"
                : g.verdict.toUpperCase()
            }`
          : `  ${name}: too few samples for a slope (run 4 minutes or more)`,
      );
    }
    return engineDied === undefined ? 0 : 1;
  } finally {
    await Deno.remove(logs, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
