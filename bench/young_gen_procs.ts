/**
 * Benchmark: the V8 young generation's size for the lab's other two kinds of process (issue 22), beside
 * bench/young_gen.ts (the client): the embedded engine in real time, and the virtual-time simulation.
 * For each setting, in child processes interleaved round by round (the machine's drift hits all alike):
 *
 * - engine: `bench/sim_realtime.ts --levels 256 --http socket` (the server in the child; its load
 *   generator always runs with the lab's client setting): the step lateness p50/p99 and the server's CPU
 *   per 1,000 tokens, and the child's peak resident memory (VmHWM);
 * - virtual time: `bench/sim_virtual_time.ts` (10 points x 500 requests): wall seconds and peak resident
 *   memory.
 *
 * Run: `deno run -A bench/young_gen_procs.ts [--rounds 2] [--seconds 3] [--settings default,16,64,256]`
 * @module
 */
import { SETTINGS } from "./young_gen.ts";

const NAMES: Record<string, string> = {
  default: "V8 default",
  "16": "semi-space 16 MiB",
  "64": "semi-space 64 MiB",
  "256": "semi-space 256 MiB",
};

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

const config = new URL("../deno.json", import.meta.url).pathname;

/** Runs a bench script in a child with exactly these V8 flags; returns its stdout and peak RSS (MiB). */
async function child(
  script: string,
  args: string[],
  flags: string,
): Promise<{ out: string; hwm_mib: number }> {
  const env = Deno.env.toObject();
  delete env.DENO_V8_FLAGS;
  const path = new URL(script, import.meta.url).pathname;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, ...(flags ? [`--v8-flags=${flags}`] : []), path, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Peak resident memory (VmHWM, monotonic), read while the child runs.
  let hwm_kib = NaN;
  const poll = setInterval(() => {
    try {
      const m = Deno.readTextFileSync(`/proc/${cmd.pid}/status`).match(/VmHWM:\s+(\d+)/);
      if (m) hwm_kib = Number(m[1]);
    } catch { /* exited */ }
  }, 50);
  const { stdout } = await cmd.output();
  clearInterval(poll);
  return { out: new TextDecoder().decode(stdout), hwm_mib: hwm_kib / 1024 };
}

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

if (import.meta.main) {
  const rounds = Number(arg("--rounds") ?? 2);
  const seconds = arg("--seconds") ?? "3";
  const settings = (arg("--settings") ?? "default,16,64,256").split(",");
  for (const s of settings) {
    if (!(s in NAMES)) {
      console.error(`--settings takes default,16,64,256 (comma-separated), got '${s}'.`);
      Deno.exit(2);
    }
  }
  console.log(`Load average at start (1/5/15 min): ${loadavg()}\n`);
  const rows: string[] = [];
  for (let r = 1; r <= rounds; r++) {
    for (const s of settings) {
      const flags = SETTINGS[NAMES[s]];
      const e = await child(
        "./sim_realtime.ts",
        ["--levels", "256", "--repeats", "1", "--http", "socket", "--no-clock", "--seconds", seconds],
        flags,
      );
      const line = e.out.split("\n").find((l) => /^socket\s+256\s/.test(l.trim()));
      const cells = line?.trim().split(/\s+/) ?? [];
      // http concurrency repeat tok_s steps cpu_ms/ktok p50 p99 max load
      rows.push(
        `| ${r} | engine c=256 | ${NAMES[s]} | tok/s ${cells[3] ?? "?"}, cpu ms/ktok ${cells[5] ?? "?"}, ` +
          `lateness p50 ${cells[6] ?? "?"} / p99 ${cells[7] ?? "?"} ms | ${e.hwm_mib.toFixed(0)} | ${
            loadavg().split(" ")[0]
          } |`,
      );
      console.error(rows.at(-1));
      const v = await child("./sim_virtual_time.ts", [], flags);
      const wall = v.out.match(/sim_virtual_time: ([\d.]+) s wall/)?.[1] ?? "?";
      rows.push(
        `| ${r} | virtual time | ${NAMES[s]} | ${wall} s wall | ${v.hwm_mib.toFixed(0)} | ${
          loadavg().split(" ")[0]
        } |`,
      );
      console.error(rows.at(-1));
    }
  }
  console.log("| round | process | young generation | result | peak RSS MiB | load 1m |");
  console.log("|---:|---|---|---|---:|---:|");
  for (const r of rows) console.log(r);
  console.log(`\nLoad average at end (1/5/15 min): ${loadavg()}`);
}
