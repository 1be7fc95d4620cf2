/**
 * Benchmark: what sampling a server's `/metrics` costs the client's event loop, the number every tier's
 * validity check reads (issue 18). A server in a child process answers `/metrics` with a recorded vLLM 0.32
 * scrape (lib/scrape/testdata/vllm_v0_32_cpu_metrics.txt, 64 KB, mostly histograms); this process samples
 * its own event-loop lag every 10 ms (as runLoad does) while it scrapes every 50 ms (as the prefix and KV
 * tiers do), in three modes interleaved round by round (the machine's drift hits all alike):
 *
 * - `none`: no scrape (the floor: timers and the machine alone);
 * - `full`: fetch, then parse every family (the sampler before this change);
 * - `sampled`: fetch, then parse only the gauges and counters a sample reads (`keepFamilies`, the sampler now).
 *
 * Prints the lag p50/p99/max per mode and round, and the ratios of the p99s per round. No assertion on time.
 *
 * Run: `deno run -A bench/scrape_lag.ts [--rounds 4] [--seconds 4] [--interval 50]`
 * @module
 */
import { keepFamilies, parsePrometheusText, SAMPLED_FAMILIES, serverMetrics } from "../lib/scrape/mod.ts";

function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : def;
}

type Mode = "none" | "full" | "sampled";
const q = (s: number[], p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];

/** One mode for `seconds`: the lag samples (ms) and how many scrapes ran. */
async function measure(url: string, mode: Mode, seconds: number, interval_ms: number) {
  const lags: number[] = [];
  let expected = performance.now() + 10;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    const t = performance.now();
    lags.push(Math.max(0, t - expected));
    expected = t + 10;
    timer = setTimeout(tick, 10);
  };
  timer = setTimeout(tick, 10);
  const end = performance.now() + seconds * 1000;
  let scrapes = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    if (mode !== "none") {
      const text = await (await fetch(url)).text();
      const families = parsePrometheusText(mode === "full" ? text : keepFamilies(text, SAMPLED_FAMILIES));
      if (serverMetrics(families).counters.generation_tokens === undefined) throw new Error("bad scrape");
      scrapes++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, interval_ms - (performance.now() - t0))));
  }
  clearTimeout(timer);
  return { lags: lags.sort((a, b) => a - b), scrapes };
}

if (import.meta.main) {
  const rounds = Number(arg("--rounds", "4"));
  const seconds = Number(arg("--seconds", "4"));
  const interval = Number(arg("--interval", "50"));
  const fixture = new URL("../lib/scrape/testdata/vllm_v0_32_cpu_metrics.txt", import.meta.url).pathname;
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const t = Deno.readTextFileSync(${JSON.stringify(fixture)});` +
      `const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => console.log(a.port) }, ` +
      `() => new Response(t, { headers: { "content-type": "text/plain; version=0.0.4" } }));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value?.trim());
  const url = `http://127.0.0.1:${port}/metrics`;
  const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(`Load average at start (1/5/15 min): ${load()}`);
  console.log(
    `Event-loop lag (10 ms timer) while scraping a recorded vLLM 0.32 /metrics (64 KB) every ${interval} ms; ` +
      `${rounds} rounds x 3 modes, ${seconds} s each, interleaved\n`,
  );
  console.log("| round | mode | scrapes | lag p50 ms | p99 ms | max ms |");
  console.log("|---:|---|---:|---:|---:|---:|");
  const p99: Record<Mode, number[]> = { none: [], full: [], sampled: [] };
  for (let r = 1; r <= rounds; r++) {
    const order: Mode[] = r % 2 ? ["none", "full", "sampled"] : ["sampled", "full", "none"];
    for (const mode of order) {
      const { lags, scrapes } = await measure(url, mode, seconds, interval);
      p99[mode].push(q(lags, 0.99));
      console.log(
        `| ${r} | ${mode} | ${scrapes} | ${q(lags, 0.5).toFixed(2)} | ${q(lags, 0.99).toFixed(2)} | ${
          lags.at(-1)!.toFixed(2)
        } |`,
      );
    }
  }
  console.log("\n| round | full / none (p99) | sampled / none | sampled / full |");
  console.log("|---:|---:|---:|---:|");
  for (let i = 0; i < rounds; i++) {
    const [n, f, s] = [p99.none[i], p99.full[i], p99.sampled[i]];
    console.log(`| ${i + 1} | ${(f / n).toFixed(2)} | ${(s / n).toFixed(2)} | ${(s / f).toFixed(2)} |`);
  }
  console.log(`\nLoad average at end (1/5/15 min): ${load()}`);
  server.kill();
  await server.status;
}
