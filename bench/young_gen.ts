/**
 * Benchmark: how the V8 young generation's size changes the TTFT error our client adds (issue 10;
 * docs/adr/0016-fidelity-truth-and-floors.md). Scavenges stop the one thread that stamps every stream's
 * reads; at V8's default semi-space size they came every ~250 ms at 256 streams and took 2-10 ms each
 * (`--v8-flags=--trace-gc`), and the worst errors of a run sat at those moments.
 *
 * For each young-generation setting, in child processes interleaved round by round (so the machine's
 * drift hits all alike): runLoad closed loop at 256 streams (socket transport) against the C dial server
 * (bench/floor/dial_server.c, stamps at write(); client_fidelity's dial for that many streams), twice as
 * many measured requests as streams after one warm-up request per stream, and the TTFT error p99 of each
 * repeat. The parent's own DENO_V8_FLAGS are not passed on: each child gets exactly its
 * setting.
 *
 * Run: `deno run -A bench/young_gen.ts [--rounds 4] [--repeats 4] [--streams 256]`
 * @module
 */
// Area entry points, not lib/mod.ts: the measured client loads only what it uses.
import { createClock, runLoad } from "../lib/probe/mod.ts";
import { percentile } from "../lib/base/mod.ts";
import { buildC, cDialProcess } from "./_fidelity_floor.ts";
import { clientErrors } from "./_fidelity.ts";
import { levelFor } from "./client_fidelity.ts";

/** The settings compared: V8's default, and fixed young generations of 16, 64 and 256 MiB semi-spaces. */
export const SETTINGS: Record<string, string> = {
  "V8 default": "",
  "semi-space 16 MiB": "--min-semi-space-size=16,--max-semi-space-size=16",
  "semi-space 64 MiB": "--min-semi-space-size=64,--max-semi-space-size=64",
  "semi-space 256 MiB": "--min-semi-space-size=256,--max-semi-space-size=256",
};

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

/** Child: `repeats` runs at `streams` against the server at `baseUrl`; prints one p99 per line. */
async function child(baseUrl: string, streams: number, repeats: number, tag: string): Promise<void> {
  for (let rep = 0; rep < repeats; rep++) {
    const prefix = `${tag}-r${rep}`;
    const { records } = await runLoad(
      baseUrl,
      (i) => ({
        endpoint: "completions",
        model: "dial-model",
        prompt: `young gen ${prefix} ${i}`,
        max_tokens: 16,
      }),
      { kind: "concurrency", n: streams },
      {
        count: 2 * streams,
        warmup: streams,
        clock: createClock(),
        transport: "socket",
        request_id_prefix: prefix,
      },
    );
    const measured = records.filter((r) => r.phase === "measure" && r.ok);
    console.log(JSON.stringify({
      ids: measured.map((r) => r.request_id),
      ttft: measured.map((r) => r.t_first_content_ms! - r.t_send_ms),
      failed: records.filter((r) => !r.ok).length,
    }));
  }
}

if (import.meta.main && Deno.args[0] === "--child") {
  const [, baseUrl, streams, repeats, tag] = Deno.args;
  await child(baseUrl, Number(streams), Number(repeats), tag);
  Deno.exit(0);
}

if (import.meta.main) {
  const rounds = arg("--rounds", 4), repeats = arg("--repeats", 4), streams = arg("--streams", 256);
  const server = await buildC("dial_server");
  if (!("path" in server)) {
    console.log(`No C dial server (${server.why}); this bench needs a C compiler (cc).`);
    Deno.exit(1);
  }
  const load = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  console.log(`Load average at start (1/5/15 min): ${load.split(" ").slice(0, 3).join(" ")}`);
  // The same dial as bench/client_fidelity.ts at this many streams.
  await using srv = await cDialProcess(server.path, levelFor(streams).dial);
  const p99s: Record<string, number[]> = Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, []]));
  let failed = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [name, flags] of Object.entries(SETTINGS)) {
      const tag = `yg${round}-${Object.keys(SETTINGS).indexOf(name)}`;
      const env: Record<string, string> = Deno.env.toObject();
      delete env.DENO_V8_FLAGS;
      if (flags) env.DENO_V8_FLAGS = flags;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--child",
          srv.baseUrl,
          String(streams),
          String(repeats),
          tag,
        ],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`the ${name} child exited ${out.code}`);
      const truths = new Map((await srv.truths()).map((t) => [t.request_id, t]));
      for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
        const r = JSON.parse(line) as { ids: string[]; ttft: number[]; failed: number };
        failed += r.failed;
        const e = clientErrors(r.ids.map((key, i) => ({ key, ttft_ms: r.ttft[i] })), truths);
        p99s[name].push(e.ttft.p99!);
      }
      console.error(`round ${round + 1}/${rounds}: ${name} done`);
    }
  }
  console.log(
    `\n## TTFT error p99 (ms) at ${streams} streams, one value per repeat (${rounds} rounds x ${repeats})\n`,
  );
  console.log("| young generation | median of the p99s | p99s, sorted |");
  console.log("|---|---:|---|");
  for (const [name, xs] of Object.entries(p99s)) {
    const sorted = [...xs].sort((a, b) => a - b);
    console.log(
      `| ${name} | ${(percentile(xs, 50) ?? NaN).toFixed(2)} | ${
        sorted.map((x) => x.toFixed(1)).join(" ")
      } |`,
    );
  }
  console.log(`\nFailed requests: ${failed}.`);
  const load2 = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  console.log(`Load average at end (1/5/15 min): ${load2.split(" ").slice(0, 3).join(" ")}`);
  // No Deno.exit here: it would skip the `await using` above, and the server would outlive the bench.
}
