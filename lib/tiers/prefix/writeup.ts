/**
 * Tier 2's write-up, `prefix_caching_results.md`, generated from the CSVs' numbers (through
 * `prefixFindings`): environment, commands, key numbers, charts (SVG files beside it), observations,
 * when to enable prefix caching and when to be careful. A run on the embedded engine says SIMULATED.
 * @module
 */
import { join } from "node:path";
import { buildServeArgs } from "../../engine/argv.ts";
import { escapeMarkdown } from "../../report/markdown.ts";
import { plotSvg } from "../../report/plot.ts";
import { writeTextAtomic } from "../../run/atomic.ts";
import type { Run } from "../../run/run_dir.ts";
import type { LabEnv } from "../lab_env.ts";
import type { PrefixAbRow, PrefixFindings, PrefixRunRow } from "./analyze.ts";
import {
  prefixAgreementChart,
  prefixCliffChart,
  prefixKvChart,
  prefixShareChart,
  prefixThroughputChart,
  prefixTtftChart,
} from "./charts.ts";
import { prefixServeConfig, type PrefixSlot } from "./engines.ts";
import type { PrefixParams } from "./params.ts";
import { shellLine, shellQuote } from "../../report/shell.ts";

const n0 = (x?: number) => (x === undefined ? "n/a" : Math.round(x).toLocaleString("en-US"));
const ms = (x?: number) => (x === undefined ? "n/a" : `${x.toFixed(1)} ms`);
const times = (x?: number) => (x === undefined ? "n/a" : `${x.toFixed(x >= 10 ? 0 : 1)}x`);
const pct = (x?: number) => (x === undefined ? "n/a" : `${(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 0)} %`);
const tok = (x?: number) => (x === undefined ? "n/a" : `${x.toFixed(0)} tok/s`);

/** The title: "Tier 2 — Prefix caching", with " — SIMULATED" on the embedded engine. */
/**
 * Unique prompts (no request shares the prefix) in words: with no cache hit caching cannot speed them up, so
 * a ratio off / on away from 1 is the noise between two engine processes, never "gains nothing (0.5x)".
 *
 * @example
 * ```ts
 * prefixUniqueText(0.5, 0); // "Unique prompts (0 %) cannot gain: hit rate 0 % ..."
 * ```
 */
export function prefixUniqueText(speedup: number | undefined, hit: number | undefined): string {
  if (hit !== undefined && hit < 0.05) {
    return `Unique prompts (0 %) cannot gain: hit rate ${pct(hit)}, so the measured off / on ratio of ${
      times(speedup)
    } is the difference between two engine processes with no cache hit (noise of this run), not an effect of caching`;
  }
  return `Unique prompts (0 %) changed by ${times(speedup)} off / on (hit rate ${pct(hit)})`;
}

export function prefixTitle(simulated: boolean): string {
  return `Tier 2 — Prefix caching${simulated ? " — SIMULATED" : ""}`;
}

/** A speed-up is a "win" when the first token comes at least this many times sooner. */
export const PREFIX_WIN_SPEEDUP = 1.5;

/**
 * The observations the data supports, one Markdown sentence each (numbers from the findings).
 *
 * @example
 * ```ts
 * for (const line of prefixObservations(findings)) console.log(`- ${line}`);
 * ```
 */
export function prefixObservations(f: PrefixFindings): string[] {
  const out: string[] = [];
  const hasOff = f.arms.includes("off");
  const B = f.block_size;
  if (f.longest && hasOff) {
    const rows = f.longest.rows;
    const parts = rows.map((r) =>
      `${ms(r.ttft_off_p50_ms)} → ${ms(r.ttft_on_p50_ms)} at concurrency ${r.concurrency} (${
        times(r.ttft_speedup)
      })`
    );
    const wins = rows.filter((r) => (r.ttft_speedup ?? 0) >= PREFIX_WIN_SPEEDUP).length;
    const gains = rows.map((r) => times(r.tok_s_gain)).join(", ");
    out.push(
      `**Long prefixes win.** At the longest shared prefix (${
        n0(f.longest.prefix_tokens)
      } tokens) caching cut ` +
        `TTFT p50 ${parts.join("; ")}. ${wins} of ${rows.length} concurrencies sped up by at least ` +
        `${PREFIX_WIN_SPEEDUP}x; output tok/s changed by ${gains} (on/off).`,
    );
    const c0 = Math.min(...rows.map((r) => r.concurrency));
    const series = f.ab.filter((r) =>
      r.sweep === "length" && r.concurrency === c0 && B !== undefined &&
      r.prefix_tokens >= B
    )
      .sort((a, b) => a.prefix_tokens - b.prefix_tokens);
    if (series.length > 1) {
      out.push(
        `**The win grows with the shared prefix** (concurrency ${c0}): ${
          series.map((r) => `${times(r.ttft_speedup)} at ${n0(r.prefix_tokens)}`).join(", ")
        } tokens. A hit skips the prefill of the cached tokens; what remains (the suffix, the first decode ` +
          `step, the server's own overhead) sets the floor.`,
      );
    }
  } else if (f.longest) {
    out.push(
      `Only the caching-on arm ran, so there is no off/on comparison; TTFT p50 at the longest prefix ` +
        `(${n0(f.longest.prefix_tokens)} tokens): ${
          f.longest.rows.map((r) => `${ms(r.ttft_on_p50_ms)} at concurrency ${r.concurrency}`).join(", ")
        }.`,
    );
  }
  if (hasOff) {
    const clean = f.off_cached_tokens === 0 && (f.off_metric_hits ?? 0) === 0;
    out.push(
      clean
        ? `**Caching off shows no hits:** the off engine reported ${
          n0(f.off_cached_tokens)
        } cached tokens and ` +
          `its prefix-cache hit counter moved by ${n0(f.off_metric_hits)} over all its runs.`
        : `**Check the off arm:** it reported ${n0(f.off_cached_tokens)} cached tokens and ` +
          `${n0(f.off_metric_hits)} counter hits although caching was off.`,
    );
  }
  const a = f.agreement;
  out.push(
    a.disagree === 0 && a.agree > 0
      ? `**The two hit-rate measures agree:** in ${a.agree} of ${a.runs} runs Σ cached_tokens and Δ prefix_cache_hits ` +
        `(and, with caching on, Σ prompt_tokens and Δ prefix_cache_queries) match within one block per request; ` +
        `the largest gap was ${n0(a.max_hits_diff_per_request)} tokens per request (block ${
          n0(a.block_size)
        }).` +
        (a.not_measured ? ` ${a.not_measured} runs could not be compared (one side not reported).` : "")
      : `**The hit-rate measures disagree in ${a.disagree} of ${a.runs} runs** (largest gap ` +
        `${n0(a.max_hits_diff_per_request)} tokens per request, tolerance one block = ${
          n0(a.block_size)
        }); ` +
        `see the runs table: other traffic on the server, preemptions or a restart between scrapes.`,
  );
  for (const r of f.sub_block) {
    out.push(
      `**A prefix shorter than a block does not help:** ${n0(r.prefix_tokens)} shared tokens (block ${
        n0(B)
      }) ` +
        `gave a hit rate of ${pct(r.hit_rate_on)} and TTFT ${ms(r.ttft_off_p50_ms)} off vs ${
          ms(r.ttft_on_p50_ms)
        } on at concurrency ${r.concurrency}: only full blocks are cached, and the last prompt token is always ` +
        `recomputed.`,
    );
    break;
  }
  const s0 = f.share.find((r) => r.share_pct === 0);
  const s100 = f.share.find((r) => r.share_pct === 100);
  if (f.share.length) {
    out.push(
      `**Only shared traffic gains.** With ${
        f.share.map((r) => `${r.share_pct} %`).join(", ")
      } of requests ` +
        `sharing a ${n0(f.share[0].prefix_tokens)}-token prefix, TTFT p50 with caching was ${
          f.share.map((r) => ms(r.ttft_on_p50_ms)).join(", ")
        }` + (hasOff ? ` against ${f.share.map((r) => ms(r.ttft_off_p50_ms)).join(", ")} without` : "") +
        `. ` + (s0 && hasOff ? prefixUniqueText(s0.ttft_speedup, s0.hit_rate_on) + "; " : "") +
        (s100 && hasOff ? `all-shared traffic gains ${times(s100.ttft_speedup)}.` : ""),
    );
  }
  const c = f.cliff;
  if (c.points.length) {
    const warm = c.points.filter((p) => p.working_set === c.last_warm_working_set)[0];
    const cold = c.points.find((p) => p.working_set === c.cliff_working_set);
    out.push(
      `**The eviction cliff:** a pool of ${n0(c.pool_tokens)} KV tokens (${
        n0(c.num_gpu_blocks)
      } blocks, one ` +
        `reserved) holds about ${n0(c.capacity_prefixes)} ` +
        `prefixes of ${n0(c.prefix_tokens)} tokens (with their suffix and output). ` +
        (warm && cold
          ? `With ${warm.working_set} distinct prefixes in round-robin the hit rate was ${
            pct(warm.usage_hit_rate ?? warm.metric_hit_rate)
          }; with ${cold.working_set} it fell to ${pct(cold.usage_hit_rate ?? cold.metric_hit_rate)} ` +
            `(TTFT p50 ${ms(warm.ttft_p50_ms)} → ${
              ms(cold.ttft_p50_ms)
            }): LRU evicts each prefix just before ` +
            `it is needed again, so the drop is a cliff, not a slope.`
          : cold
          ? `Every working set measured was past the cliff (hit rate ${
            pct(cold.usage_hit_rate)
          } at ${cold.working_set}).`
          : `No cliff within the working sets measured (up to ${c.points.at(-1)!.working_set}).`),
    );
  }
  if (hasOff && f.longest) {
    const top = [...f.longest.rows].sort((x, y) => y.concurrency - x.concurrency)[0];
    out.push(
      `**What it costs in KV memory:** at ${
        n0(top.prefix_tokens)
      } tokens and concurrency ${top.concurrency} ` +
        `the peak sampled KV usage was ${pct(top.kv_usage_max_off)} off and ${
          pct(top.kv_usage_max_on)
        } on. ` +
        `Requests sharing a prefix share its blocks, and cached blocks no request holds count as free ` +
        `(evicted on demand), so caching did not take capacity away here; its costs are hashing per block ` +
        `and a cache that is only as useful as the traffic is repetitive.`,
    );
  }
  if (f.preemptions > 0) out.push(`${n0(f.preemptions)} preemptions happened during measured runs.`);
  if (f.client_not_ok > 0) {
    out.push(
      `${f.client_not_ok} runs failed the client self-check (event-loop lag above its threshold on this busy ` +
        `machine): their latencies may carry a few ms of client delay.`,
    );
  }
  if (f.reset_failed > 0) {
    out.push(`${f.reset_failed} runs could not reset the prefix cache: they may start with a warm cache.`);
  }
  return out;
}

/**
 * When to enable prefix caching and when to be careful, with this run's numbers.
 *
 * @example
 * ```ts
 * prefixAdvice(findings).enable; // ["Keep it on (vLLM V1's default) when ..."]
 * ```
 */
export function prefixAdvice(f: PrefixFindings): { enable: string[]; careful: string[] } {
  const B = f.block_size ?? 16;
  const c = f.cliff;
  const best = f.longest?.rows.map((r) => r.ttft_speedup).filter((x): x is number => x !== undefined);
  return {
    enable: [
      `Keep it on (vLLM V1's default) when requests share a long, byte-identical start: a system prompt, ` +
      `few-shot examples, a document asked several questions, a multi-turn chat` +
      (best?.length ? ` (here up to ${times(Math.max(...best))} faster first tokens).` : "."),
      `Turn on --enable-prompt-tokens-details to see usage.prompt_tokens_details.cached_tokens per request, ` +
      `and watch vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total on the dashboard: the two ` +
      `agree within a block per request.`,
      `Put the shared part first and keep it identical (same template, no timestamps or user ids before it): ` +
      `the cache matches the longest chain of full ${B}-token blocks from the first token.`,
    ],
    careful: [
      `Unique prompts, and shared parts shorter than one block (${B} tokens), cannot gain (no block to reuse); cached tokens come ` +
      `in whole blocks and the last prompt token is always recomputed.`,
      `Size the working set of prefixes against the KV pool: distinct prefixes x (prefix + suffix + output) ` +
      `tokens must stay below the pool's tokens` +
      (c.capacity_prefixes !== undefined
        ? ` (here ${n0(c.pool_tokens)} tokens held ~${n0(c.capacity_prefixes)} prefixes of ${
          n0(c.prefix_tokens)
        } tokens, and the hit rate collapsed beyond that).`
        : ".") +
      ` Past it, LRU turns hits into misses all at once.`,
      `Benchmarks: the first request with a prefix is cold; measure warm TTFT after one priming request, and ` +
      `cold TTFT with /reset_prefix_cache (VLLM_SERVER_DEV_MODE=1), a unique cache_salt or ` +
      `--no-enable-prefix-caching. Requests sent together with the first one may or may not hit.`,
      `Tenants who must not share cache (timing side channels) need a per-tenant cache_salt.`,
    ],
  };
}

function abTable(rows: readonly PrefixAbRow[], hasOff: boolean): string {
  const head = hasOff
    ? "| point | concurrency | prefix tokens | share % | TTFT p50 off | TTFT p50 on | speed-up | tok/s off | tok/s on | hit rate on |\n" +
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    : "| point | concurrency | prefix tokens | share % | TTFT p50 on | tok/s on | hit rate on |\n|---|---:|---:|---:|---:|---:|---:|";
  const line = (r: PrefixAbRow) =>
    hasOff
      ? `| ${r.point_id} | ${r.concurrency} | ${n0(r.prefix_tokens)} | ${r.share_pct ?? "–"} | ${
        ms(r.ttft_off_p50_ms)
      } | ${ms(r.ttft_on_p50_ms)} | ${times(r.ttft_speedup)} | ${tok(r.tok_s_off)} | ${tok(r.tok_s_on)} | ${
        pct(r.hit_rate_on)
      } |`
      : `| ${r.point_id} | ${r.concurrency} | ${n0(r.prefix_tokens)} | ${r.share_pct ?? "–"} | ${
        ms(r.ttft_on_p50_ms)
      } | ${tok(r.tok_s_on)} | ${pct(r.hit_rate_on)} |`;
  return [head, ...rows.map(line)].join("\n");
}

/** The chart files the write-up references, with the chart each holds. */
export const PREFIX_CHART_FILES = {
  ttft: "prefix_ttft_vs_length.svg",
  throughput: "prefix_toks_vs_length.svg",
  kv: "prefix_kv_usage.svg",
  share: "prefix_ttft_vs_share.svg",
  cliff: "prefix_eviction_cliff.svg",
  agreement: "prefix_hit_rate_agreement.svg",
} as const;

/** What the write-up needs beyond the findings. */
export interface PrefixWriteupContext {
  lab: LabEnv;
  params: PrefixParams;
  runs: readonly PrefixRunRow[];
  run_id?: string;
  notes?: readonly string[];
  /** Chart files written (names relative to the write-up). */
  charts?: readonly string[];
}

function serveCommands(ctx: PrefixWriteupContext): string[] {
  const { lab, runs } = ctx;
  if (lab.engine === "external") return [`# external server at ${lab.url}: the lab did not start it`];
  const bin = lab.engine === "sim" ? "./servelab sim serve" : "vllm serve";
  const slots: PrefixSlot[] = ["off", "on"];
  const lines = slots.map((s) => `# ${s}\n${bin} ${shellLine(buildServeArgs(prefixServeConfig(lab, s)))}`);
  const cliff = runs.find((r) => r.sweep === "cliff");
  if (cliff?.num_gpu_blocks !== undefined) {
    const cfg = prefixServeConfig(lab, "cliff", {
      num_gpu_blocks: cliff.num_gpu_blocks,
      max_model_len: (cliff.num_gpu_blocks - 1) * cliff.block_size,
    });
    lines.push(`# cliff (small KV pool)\n${bin} ${shellLine(buildServeArgs(cfg))}`);
  }
  return lines;
}

/**
 * The write-up as Markdown.
 *
 * @example
 * ```ts
 * const text = prefixWriteup(findings, { lab, params: P, runs });
 * ```
 */
export function prefixWriteup(f: PrefixFindings, ctx: PrefixWriteupContext): string {
  const hasOff = f.arms.includes("off");
  const P = ctx.params;
  const advice = prefixAdvice(f);
  const sim = f.simulated
    ? "\n> **SIMULATED.** Every number below comes from the embedded engine (a model of vLLM on the named GPU " +
      "profile), not from a GPU. It shows the behaviour; real magnitudes need a run on vLLM.\n"
    : "";
  const bullets = (xs: readonly string[]) => xs.map((x) => `- ${x}`).join("\n");
  const sections = [
    `# ${prefixTitle(f.simulated)}\n${sim}`,
    `## Environment\n\n` + bullets([
      `Engine: ${escapeMarkdown(f.engine_label)}`,
      `Run: ${escapeMarkdown(ctx.run_id ?? "n/a")}, size ${ctx.lab.size}, seed ${ctx.lab.seed}`,
      `KV block size: ${n0(f.block_size)} tokens (from ${escapeMarkdown(f.block_size_source ?? "n/a")}); ` +
      `KV pool of the caching-on engine: ${n0(f.pool_tokens)} tokens`,
      `Arms: ${f.arms.join(", ")}` +
      (hasOff ? `, interleaved (${P.interleave})` : " (external engine: caching cannot be toggled)"),
      `Workload: data/prefix_prompts.jsonl, family '${
        escapeMarkdown(P.family)
      }' for the length and share sweeps; ` +
      `prompts are token ids of exact length (prefix aligned to whole blocks, then a unique tagged question); ` +
      `${P.output_tokens} output tokens per request (ignore_eos); every run resets the cache and primes it ` +
      `one request at a time before measuring`,
    ]),
    `## Commands\n\n` +
    "```\n" +
    `# the whole lab\n./servelab run --engine ${shellQuote(ctx.lab.engine)}${
      ctx.lab.size === "test" ? " --size test" : ""
    }\n` +
    serveCommands(ctx).join("\n") + "\n```",
    `## Key numbers\n\n${abTable(f.ab, hasOff)}`,
    f.cliff.points.length
      ? `### Eviction cliff\n\n| working set | x capacity | hit rate (usage) | hit rate (metrics) | expected | TTFT p50 |\n` +
        `|---:|---:|---:|---:|---:|---:|\n` +
        f.cliff.points.map((p) =>
          `| ${p.working_set} | ${p.load_factor ?? ""} | ${pct(p.usage_hit_rate)} | ${
            pct(p.metric_hit_rate)
          } | ${pct(p.expected_hit_rate)} | ${ms(p.ttft_p50_ms)} |`
        ).join("\n") +
        `\n\nCapacity computed from the engine's KV blocks: ${n0(f.cliff.capacity_prefixes)} prefixes ` +
        `(pool ${
          n0(f.cliff.pool_tokens)
        } tokens set with --num-gpu-blocks-override so the cliff appears with ` +
        `a few dozen requests; on a full-size pool it appears at proportionally larger working sets).`
      : `### Eviction cliff\n\nNot measured in this run.`,
    ctx.charts?.length ? `## Charts\n\n${ctx.charts.map((c) => `![${c}](${c})`).join("\n\n")}` : "",
    `## Observations\n\n${
      f.client_not_ok > 0 && f.client_not_ok * 2 >= f.runs_total
        ? `> **Read as indicative.** ${f.client_not_ok} of ${f.runs_total} runs failed the client self-check ` +
          "(see Invalid points): every observation below rests on runs whose latencies carry client delay. " +
          "Rerun on a less loaded client machine before acting on the magnitudes.\n\n"
        : ""
    }${bullets(prefixObservations(f))}`,
    `## Invalid points\n\n${
      f.client_invalid.length
        ? `${f.client_invalid.length} of ${f.runs_total} runs failed the client self-check (kept, marked in ` +
          `prefix_cache_runs.csv's client_ok column):\n\n${bullets(f.client_invalid)}`
        : "None: every run passed the client self-check."
    }`,
    `## When to enable it\n\n${bullets(advice.enable)}`,
    `## When to be careful\n\n${bullets(advice.careful)}`,
    ctx.notes?.length ? `## Notes\n\n${bullets(ctx.notes.map(escapeMarkdown))}` : "",
    `## References\n\n` + bullets([
      "Kwon et al., Efficient Memory Management for Large Language Model Serving with PagedAttention (SOSP 2023).",
      "vLLM docs: Automatic Prefix Caching, and the design note docs/design/prefix_caching.md.",
    ]),
  ];
  return sections.filter(Boolean).join("\n\n") + "\n";
}

/**
 * Writes the charts (SVG) and `prefix_caching_results.md` into the run folder.
 *
 * @example
 * ```ts
 * const { md_path } = await writePrefixWriteup(run, findings, { lab, params: P, runs, notes: m.notes });
 * ```
 */
export async function writePrefixWriteup(
  run: Run,
  f: PrefixFindings,
  ctx: Omit<PrefixWriteupContext, "charts" | "run_id">,
): Promise<{ md_path: string; charts: string[] }> {
  const charts: string[] = [];
  const write = async (file: string, svg: () => string) => {
    await writeTextAtomic(join(run.dir, file), svg());
    charts.push(file);
  };
  const files = PREFIX_CHART_FILES;
  if (f.summary.some((s) => s.sweep === "length")) {
    await write(files.ttft, () => plotSvg(prefixTtftChart(f.summary)));
    await write(files.throughput, () => plotSvg(prefixThroughputChart(f.summary)));
    if (f.summary.some((s) => s.kv_usage_max !== undefined)) {
      await write(files.kv, () => plotSvg(prefixKvChart(f.summary)));
    }
  }
  if (f.share.length) await write(files.share, () => plotSvg(prefixShareChart(f.summary)));
  if (f.cliff.points.length) await write(files.cliff, () => plotSvg(prefixCliffChart(f.cliff)));
  if (ctx.runs.length) await write(files.agreement, () => plotSvg(prefixAgreementChart(ctx.runs)));
  const md_path = join(run.dir, "prefix_caching_results.md");
  await writeTextAtomic(md_path, prefixWriteup(f, { ...ctx, charts, run_id: run.id }));
  return { md_path, charts };
}
