/**
 * Benchmark: how many tokens per second the embedded engine's real-time server emits on one core before
 * its own timing error (a token's write time minus the time the simulated engine produced it) exceeds
 * 1 ms at p99. Also measures the precise sleep the runtime uses (timer to `margin` before, then
 * yield/spin), for several margins. Prints tables; no assertion on time.
 *
 * The server runs in this process (one JS thread: one core); the load runs in a child process
 * (bench/_sim_load_client.ts) so it does not share the server's thread. Default profile:
 * Qwen2.5-1.5B-Instruct on H100-80GB, 128-token prompts, 256 tokens out, ignore_eos.
 *
 * Both HTTP servers of the engine run interleaved at each level (`--http socket,deno`, `--repeats 2`):
 * the raw-socket server (lib/sim/http1_server.ts, the default since issue 22) and Deno.serve (before), each
 * repeat on a fresh server, so the two are compared in pairs taken a minute apart at most.
 *
 * Run: `deno run -A bench/sim_realtime.ts [--seconds 4] [--levels 1,8,32,64,128,256,512] [--http socket,deno]
 * [--repeats 2] [--no-clock]`
 * @module
 */
import process from "node:process";
import { parseServeConfig } from "../lib/engine/mod.ts";
import { realClock, serveSim, type SimHttp, type StepTiming } from "../lib/sim/mod.ts";

/** p-th quantile (0..1) of a sorted array, nearest rank. */
function q(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Lateness of `sleepUntil` for one clock setting. */
export interface ClockRow {
  margin_ms: number;
  sleeps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * Sleeps `n` times for 2-6 ms with each margin and reports how late the wake-ups were.
 *
 * @example
 * ```ts
 * const rows = await clockAccuracy([0, 2], 100);
 * ```
 */
export async function clockAccuracy(margins: number[], n = 300): Promise<ClockRow[]> {
  const rows: ClockRow[] = [];
  for (const margin_ms of margins) {
    const clock = realClock({ margin_ms });
    const late: number[] = [];
    for (let i = 0; i < n; i++) {
      const target = clock.now() + 2 + (i % 5);
      await clock.sleepUntil(target);
      late.push(clock.now() - target);
    }
    clock.close?.();
    late.sort((a, b) => a - b);
    rows.push({ margin_ms, sleeps: n, p50_ms: q(late, 0.5), p99_ms: q(late, 0.99), max_ms: late.at(-1)! });
  }
  return rows;
}

/** One concurrency level of the real-time ramp. */
export interface RampRow {
  /** The engine's HTTP server. */
  http: SimHttp;
  concurrency: number;
  /** Tokens written per second (server side). */
  tok_s: number;
  steps: number;
  /**
   * CPU time of this process (the server: its HTTP stack and the simulated engine) per 1,000 tokens
   * emitted, ms: the cost that sets how many tokens one core can emit on time, and a number that a
   * loaded machine disturbs less than the lateness (which waits for a core).
   */
  cpu_ms_per_ktok: number;
  /** Per-token lateness (write - scheduled), ms; each token counts its step's worst case. */
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Options of {@link realtimeRamp}. */
export interface RampOptions {
  levels?: number[];
  seconds?: number;
  prompt_tokens?: number;
  max_tokens?: number;
  /** Seconds at the start of each level left out of the numbers (ramp-up). */
  settle_s?: number;
  /** The engine's HTTP server (default: serveSim's, "socket"). */
  http?: SimHttp;
}

/**
 * Serves the default profile and ramps closed-loop concurrency, measuring emitted tokens per second and
 * the server's lateness at each level.
 *
 * @example
 * ```ts
 * const rows = await realtimeRamp({ levels: [1, 16], seconds: 2 });
 * ```
 */
export async function realtimeRamp(o: RampOptions = {}): Promise<RampRow[]> {
  const cfg = parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
  let sink: StepTiming[] | undefined;
  const http = o.http ?? "socket";
  await using srv = await serveSim(cfg, { port: 0, env: {}, http, onStep: (t) => sink?.push(t) });
  const client = new URL("./_sim_load_client.ts", import.meta.url).pathname;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const seconds = o.seconds ?? 4, settle = o.settle_s ?? 0.5;
  const rows: RampRow[] = [];
  for (const n of o.levels ?? [1, 8, 32, 64, 128, 256, 512]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        config,
        client,
        srv.url,
        String(n),
        String(seconds + settle),
        String(o.prompt_tokens ?? 128),
        String(o.max_tokens ?? 256),
      ],
      stdout: "piped",
      stderr: "inherit",
      // The load generator keeps the lab client's young generation whatever this process runs with.
      env: { DENO_V8_FLAGS: "--min-semi-space-size=256,--max-semi-space-size=256" },
    }).spawn();
    const steps: StepTiming[] = [];
    await new Promise((r) => setTimeout(r, settle * 1000));
    sink = steps;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    sink = undefined;
    const cpu = process.cpuUsage(cpu0);
    const dt = (performance.now() - t0) / 1000;
    await child.output();
    const late: number[] = [];
    let tokens = 0;
    for (const s of steps) {
      const worst = s.finished_ms - s.scheduled_end_ms;
      tokens += s.outcome.tokens.length;
      for (let i = 0; i < s.outcome.tokens.length; i++) late.push(worst);
    }
    late.sort((a, b) => a - b);
    rows.push({
      http,
      concurrency: n,
      tok_s: tokens / dt,
      steps: steps.length,
      cpu_ms_per_ktok: tokens > 0 ? (cpu.user + cpu.system) / tokens : NaN,
      p50_ms: q(late, 0.5),
      p99_ms: q(late, 0.99),
      max_ms: late.at(-1) ?? NaN,
    });
    // Let the level's requests drain before the next one starts.
    while (srv.sim.runtime.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? c.toFixed(c >= 100 ? 0 : 3) : c)));
  const w = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(w[i])).join("  ");
  return [line(headers), line(w.map((x) => "-".repeat(x))), ...cells.map(line)].join("\n");
}

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const seconds = Number(arg("--seconds") ?? 4);
  const levels = arg("--levels")?.split(",").map(Number) ?? [1, 8, 32, 64, 128, 256, 512];
  const repeats = Number(arg("--repeats") ?? 2);
  const https = (arg("--http") ?? "socket,deno").split(",") as SimHttp[];
  for (const h of https) {
    if (h !== "socket" && h !== "deno") {
      console.error(`--http takes socket and/or deno (comma-separated), got '${h}'.`);
      Deno.exit(2);
    }
  }
  console.log(`Load average at start (1/5/15 min): ${loadavg()}\n`);
  if (!Deno.args.includes("--no-clock")) {
    console.log("Precise sleep (realClock): lateness of wake-ups for 2-6 ms sleeps");
    const clock = await clockAccuracy([0, 0.5, 1, 2, 3]);
    console.log(table(
      ["margin_ms", "sleeps", "p50_ms", "p99_ms", "max_ms"],
      clock.map((r) => [r.margin_ms, r.sleeps, r.p50_ms, r.p99_ms, r.max_ms]),
    ));
  }
  console.log(
    "\nReal-time server, Qwen2.5-1.5B-Instruct on H100-80GB (simulated), 128 in / 256 out, streaming;" +
      ` ${repeats} interleaved repeats per level (${https.join(", ")}), ${seconds} s each`,
  );
  const rows: (RampRow & { repeat: number; load: string })[] = [];
  for (const n of levels) {
    for (let r = 0; r < repeats; r++) {
      for (const http of https) {
        const [row] = await realtimeRamp({ seconds, levels: [n], http });
        rows.push({ ...row, repeat: r + 1, load: loadavg().split(" ")[0] });
      }
    }
  }
  console.log(table(
    [
      "http",
      "concurrency",
      "repeat",
      "tok_s",
      "steps",
      "cpu_ms/ktok",
      "p50_ms",
      "p99_ms",
      "max_ms",
      "load_1m",
    ],
    rows.map((r) => [
      r.http,
      r.concurrency,
      r.repeat,
      r.tok_s,
      r.steps,
      r.cpu_ms_per_ktok,
      r.p50_ms,
      r.p99_ms,
      r.max_ms,
      r.load,
    ]),
  ));
  if (https.includes("socket") && https.includes("deno")) {
    console.log("\nPairs (same level, same repeat): socket / deno");
    const pairs: (string | number)[][] = [];
    for (const n of levels) {
      for (let r = 1; r <= repeats; r++) {
        const s = rows.find((x) => x.http === "socket" && x.concurrency === n && x.repeat === r)!;
        const d = rows.find((x) => x.http === "deno" && x.concurrency === n && x.repeat === r)!;
        pairs.push([
          n,
          r,
          s.tok_s / d.tok_s,
          s.cpu_ms_per_ktok / d.cpu_ms_per_ktok,
          s.p50_ms / d.p50_ms,
          s.p99_ms / d.p99_ms,
        ]);
      }
    }
    console.log(
      table(["concurrency", "repeat", "tok_s ratio", "cpu/tok ratio", "p50 ratio", "p99 ratio"], pairs),
    );
  }
  for (const http of https) {
    const ok = rows.filter((r) => r.http === http && r.p99_ms <= 1);
    const best = ok.reduce<RampRow | undefined>((a, r) => (!a || r.tok_s > a.tok_s ? r : a), undefined);
    console.log(
      best
        ? `\n${http}: highest emitted rate with p99 timing error <= 1 ms: ${
          best.tok_s.toFixed(0)
        } tok/s (concurrency ${best.concurrency})`
        : `\n${http}: no level kept the p99 timing error within 1 ms.`,
    );
  }
  console.log(`\nLoad average at end (1/5/15 min): ${loadavg()}`);
  Deno.exit(0);
}
