/**
 * Benchmark: the client's content path alone, in this process, no network: the byte scan (probe()'s
 * default, lib/probe/sse_scan.ts) against the path before it (TextDecoder, eventsource-parser and
 * `JSON.parse` of every event), on the bytes of N interleaved streams of vLLM-shaped completion chunks,
 * one socket read per chunk. Prints CPU time per read for each, interleaved rounds. To count the
 * scavenges each path causes, run one path per process with `--only scan|parser|none` under
 * `--v8-flags=--trace-gc` and subtract the `none` run (the setup's): V8's trace is buffered apart from
 * the script's output, so one process cannot tell the paths' scavenges apart.
 *
 * Run: `deno run -A [--v8-flags=--trace-gc] bench/client_parse.ts [--streams 1024] [--chunks 64] [--rounds 3]
 * [--only scan|parser|none]`
 * @module
 */
import process from "node:process";
import { createParser } from "eventsource-parser";
import { SseScanner } from "../lib/probe/mod.ts";

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const enc = new TextEncoder();
const streams = arg("--streams", 1024), chunks = arg("--chunks", 64), rounds = arg("--rounds", 3);

/** The reads of each stream: one token chunk per read, vLLM's shape, then usage and [DONE]. */
const reads: Uint8Array[][] = Array.from({ length: streams }, (_, s) => {
  const id = `cmpl-${s.toString(16).padStart(32, "0")}`;
  const out: Uint8Array[] = [];
  for (let k = 0; k < chunks; k++) {
    out.push(enc.encode(
      `data: {"id":"${id}","object":"text_completion","created":1765000000,"model":"Qwen/Qwen2.5-1.5B-Instruct",` +
        `"choices":[{"index":0,"text":" tok${k % 97}","logprobs":null,"finish_reason":${
          k === chunks - 1 ? '"length"' : "null"
        },"stop_reason":null}]}\n\n`,
    ));
  }
  out.push(enc.encode(
    `data: {"id":"${id}","object":"text_completion","created":1765000000,"model":"m","choices":[],` +
      `"usage":{"prompt_tokens":128,"total_tokens":${
        128 + chunks
      },"completion_tokens":${chunks}}}\n\ndata: [DONE]\n\n`,
  ));
  return out;
});

/** Runs every stream's reads interleaved (read k of every stream, then read k + 1) through one path. */
function run(path: "scan" | "parser"): { chars: number; events: number } {
  let chars = 0, events = 0;
  const state = reads.map(() => {
    if (path === "scan") {
      return new SseScanner("completions", {
        content: (n) => (chars += n, events++),
        data: (d) => {
          events++;
          if (d === "[DONE]") return;
          const t = JSON.parse(d).choices?.[0]?.text;
          if (t) chars += t.length;
        },
        fallback: () => {
          throw new Error("unexpected fallback");
        },
      });
    }
    const dec = new TextDecoder();
    const parser = createParser({
      onEvent: (ev) => {
        events++;
        if (ev.data === "[DONE]") return;
        const c = JSON.parse(ev.data);
        const t = c.choices?.[0]?.text;
        if (t) chars += t.length;
      },
    });
    return { feed: (b: Uint8Array) => parser.feed(dec.decode(b, { stream: true })) };
  });
  for (let k = 0; k <= chunks; k++) {
    for (let s = 0; s < streams; s++) state[s].feed(reads[s][k]);
  }
  return { chars, events };
}

/** This process's CPU time, ms (user + system). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const total = streams * (chunks + 1);
console.log(`${streams} streams x ${chunks + 1} reads = ${total} reads per round`);
const rows: string[] = [];
const oi = Deno.args.indexOf("--only");
const only = oi >= 0 ? Deno.args[oi + 1] : undefined;
if (only !== undefined && only !== "scan" && only !== "parser" && only !== "none") {
  console.error(`--only takes scan, parser or none, got '${only}'.`);
  Deno.exit(2);
}
const paths = only === "none" ? [] : only ? [only as "scan" | "parser"] : (["scan", "parser"] as const);
for (let r = 1; r <= rounds; r++) {
  for (const path of paths) {
    const c0 = cpu();
    const res = run(path);
    const ms = cpu() - c0;
    rows.push(
      `| ${r} | ${path} | ${(1000 * ms / total).toFixed(2)} | ${res.events} | ${res.chars} |`,
    );
  }
}
console.log("| round | path | CPU µs per read | events | content chars |");
console.log("|---:|---|---:|---:|---:|");
for (const r of rows) console.log(r);
