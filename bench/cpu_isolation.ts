/**
 * Does CPU isolation keep the lab's client valid? The same engine and workload, side by side in one run:
 * arm `isolated` starts the engine on the engine's CPU set (lib/engine/cpus.ts planCpus; `taskset`, threads
 * to match) and the load client on the client's set; arm `shared` starts both unpinned. Repeats interleave
 * the arms (ABBA order), one engine per arm and repeat, every concurrency point on it. Per point the client
 * (bench/_isolation_client.ts, its own process) runs the lab's closed loop and its self-check at the batching
 * tier's limit (event-loop lag p99 <= 15 ms) and a point is valid when that holds and <= 1 % of requests fail.
 * The host's load average is recorded around every point: other tenants' work is part of what is measured.
 *
 *   deno run -A bench/cpu_isolation.ts [--engine sim|llamacpp|vllm] [--repeats 4] [--concurrency 1,4,16]
 *     [--requests 48] [--prompt-tokens 256] [--max-tokens 32] [--model M]
 *
 * sim: the embedded engine (SIMULATED) serving servelab/tiny-llama on the `cpu-calibrated` profile; llamacpp:
 * .servelab/tiny-model/tiny-llama.gguf (tools/real/llamacpp_install.sh); vllm: .servelab/tiny-model
 * (tools/real/vllm_cpu_install.sh, SERVELAB_VLLM_BIN).
 * @module
 */
import { hostCpus, launch, parseServeConfig, pinnedArgv, planCpus } from "../lib/engine/mod.ts";

type Arm = "isolated" | "shared";
interface Point {
  arm: Arm;
  repeat: number;
  concurrency: number;
  lag_p99_ms?: number;
  client_ok: boolean;
  failed: number;
  requests: number;
  throughput_rps?: number;
  ttft_p50_ms?: number;
  load1: number;
  valid: boolean;
}

function flag(args: string[], name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
}

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

function engineConfig(kind: string, model: string | undefined, cpus: string | undefined) {
  switch (kind) {
    case "sim":
      return parseServeConfig({
        engine: "sim",
        model: model ?? "servelab/tiny-llama",
        max_model_len: 4096,
        cpus,
        sim: { gpu: "cpu-calibrated", startup_time_scale: 0.02 },
      });
    case "llamacpp":
      return parseServeConfig({
        engine: "llamacpp",
        model: model ?? `${ROOT}/.servelab/tiny-model/tiny-llama.gguf`,
        served_model_name: "tiny",
        max_model_len: 4096,
        max_num_seqs: 16,
        cpus,
      });
    case "vllm":
      return parseServeConfig({
        engine: "vllm",
        model: model ?? `${ROOT}/.servelab/tiny-model`,
        served_model_name: "tiny",
        max_model_len: 4096,
        dtype: "float32",
        enforce_eager: true,
        env: { VLLM_CPU_KVCACHE_SPACE: "1" },
        cpus,
      });
    default:
      throw new Error(`--engine '${kind}' is not sim, llamacpp or vllm.`);
  }
}

function load1(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}

async function clientPoint(
  url: string,
  model: string,
  c: number,
  o: { requests: number; prompt: number; max: number; seed: number; cpus?: string },
) {
  const script = new URL("./_isolation_client.ts", import.meta.url).pathname;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const argv = pinnedArgv([
    Deno.execPath(),
    "run",
    "-A",
    "--config",
    config,
    script,
    url,
    model,
    String(c),
    String(Math.max(o.requests, 2 * c)),
    String(o.prompt),
    String(o.max),
    String(o.seed),
  ], o.cpus);
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success || !text.startsWith("{")) {
    throw new Error(`client failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).slice(-800)}`);
  }
  return JSON.parse(text);
}

function quantile(xs: number[], q: number): number | undefined {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return undefined;
  const pos = (s.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
const f = (x: number | undefined, d = 1) => x === undefined ? "n/a" : x.toFixed(d);

async function main(args: string[]): Promise<number> {
  const kind = flag(args, "--engine", "sim");
  const repeats = Number(flag(args, "--repeats", "4"));
  const conc = flag(args, "--concurrency", "1,4,16").split(",").map(Number);
  const requests = Number(flag(args, "--requests", "48"));
  const prompt = Number(flag(args, "--prompt-tokens", "256"));
  const max = Number(flag(args, "--max-tokens", "32"));
  const model = args.includes("--model") ? flag(args, "--model", "") : undefined;
  const plan = planCpus(hostCpus());
  console.log(
    `engine ${kind}; CPU sets of the isolated arm: engine ${plan.engine}, client ${plan.client} (host ${plan.host}, ` +
      `${plan.numa_nodes} NUMA node(s)); shared arm: both unpinned on ${plan.host}`,
  );
  console.log(
    `${repeats} repeats x 2 arms (ABBA) x concurrency ${
      conc.join(",")
    }; ${requests} measured requests a point ` +
      `(at least 2c), ${prompt}-token prompts, ${max} output tokens; load average at start ${load1()}`,
  );
  const points: Point[] = [];
  for (let r = 1; r <= repeats; r++) {
    const order: Arm[] = r % 2 === 1 ? ["isolated", "shared"] : ["shared", "isolated"];
    for (const arm of order) {
      const cfg = engineConfig(kind, model, arm === "isolated" ? plan.engine : undefined);
      await using engine = await launch(cfg, { ready_timeout_ms: 900_000 });
      for (const c of conc) {
        const before = load1();
        const p = await clientPoint(engine.baseUrl, engine.model, c, {
          requests,
          prompt,
          max,
          seed: r * 100 + c,
          cpus: arm === "isolated" ? plan.client : undefined,
        });
        const valid = p.client_ok && p.failed <= 0.01 * p.requests;
        points.push({ arm, repeat: r, concurrency: c, ...p, load1: (before + load1()) / 2, valid });
        console.log(
          `  repeat ${r} ${arm.padEnd(8)} c=${String(c).padStart(3)}: lag p99 ${f(p.lag_p99_ms)} ms, ` +
            `${valid ? "valid" : "INVALID"}, ${p.failed}/${p.requests} failed, ${
              f(p.throughput_rps)
            } req/s, ` +
            `TTFT p50 ${f(p.ttft_p50_ms)} ms, load ${f((before + load1()) / 2, 2)}`,
        );
      }
    }
  }
  console.log(
    "\n| arm | points | valid | valid share | client lag p99 ms: median [min-max] | throughput req/s median | TTFT p50 ms median | load avg (1 min) median |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const arm of ["isolated", "shared"] as Arm[]) {
    const ps = points.filter((p) => p.arm === arm);
    const lags = ps.map((p) => p.lag_p99_ms ?? NaN);
    const v = ps.filter((p) => p.valid).length;
    console.log(
      `| ${arm} | ${ps.length} | ${v} | ${f(100 * v / ps.length, 0)} % | ${f(quantile(lags, 0.5))} [${
        f(quantile(lags, 0))
      }-${f(quantile(lags, 1))}] | ${f(quantile(ps.map((p) => p.throughput_rps ?? NaN), 0.5), 2)} | ${
        f(quantile(ps.map((p) => p.ttft_p50_ms ?? NaN), 0.5))
      } | ${f(quantile(ps.map((p) => p.load1), 0.5), 2)} |`,
    );
  }
  console.log("\n| c | isolated: valid, lag p99 median ms | shared: valid, lag p99 median ms |");
  console.log("|---|---|---|");
  for (const c of conc) {
    const cell = (arm: Arm) => {
      const ps = points.filter((p) => p.arm === arm && p.concurrency === c);
      return `${ps.filter((p) => p.valid).length}/${ps.length}, ${
        f(quantile(ps.map((p) => p.lag_p99_ms ?? NaN), 0.5))
      }`;
    };
    console.log(`| ${c} | ${cell("isolated")} | ${cell("shared")} |`);
  }
  if (kind === "sim") {
    console.log("\nEngine numbers (throughput, TTFT) are SIMULATED; the client's lag is real.");
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
