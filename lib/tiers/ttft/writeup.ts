/**
 * Tier 1's write-up, `first_token_latency.md`: rendered from one {@link TtftSummary} (itself computed from
 * the CSVs read back from the run folder) and a context of what is not measured (engine label, commands,
 * parameters, host). Nothing here computes a measurement: it formats the summary's numbers, so every
 * number in the file can be recomputed from the CSVs.
 * @module
 */
import { join } from "node:path";
import { buildServeArgs } from "../../engine/argv.ts";
import { llamaServerArgs } from "../../engine/llamacpp.ts";
import type { ServeConfig } from "../../engine/config.ts";
import { escapeMarkdown } from "../../report/markdown.ts";
import { writeTextAtomic } from "../../run/atomic.ts";
import { failedPointsMd, withNote } from "../failed_points.ts";
import { readManifest } from "../../run/manifest.ts";
import type { Run } from "../../run/run_dir.ts";
import { engineLabel, type LabEnv, serveConfigFor } from "../lab_env.ts";
import { runCapabilities } from "../capabilities.ts";
import { missingCapability } from "../../probe/capabilities.ts";
import { MIN_TREND_R2, TTFT_VARIANTS, type TtftSummary, ttftSummary, type TtftVariant } from "./analyze.ts";
import { TTFT_ENV_VARS, type TtftParams } from "./params.ts";
import { readTtftTables, TTFT_FILES, type TtftTables } from "./tables.ts";
import { shellEnv, shellLine } from "../../report/shell.ts";
import { isEmbeddedEngine } from "../../engine/identity.ts";

/** What the write-up states besides the measurements. */
export interface TtftWriteupContext {
  run_id: string;
  lab: LabEnv;
  params: TtftParams;
  /** The engine configuration of every launch. */
  config: ServeConfig;
  /** From the run's manifest: host, GPU and code version lines (already plain text). */
  environment: string[];
  /** Issue 20: why the server's metrics cannot be read, from the run's capability probe (undefined: not known). */
  missing_metrics?: string;
}

/** Which tools report each TTFT variant as "TTFT" (shared/reference/peers.md §11). */
export const TTFT_VARIANT_PEERS: Record<TtftVariant, string> = {
  first_byte: "none of the LLM benchmarks (it is HTTP time to first byte)",
  first_event: "GenAI-Perf (first response of any kind)",
  first_choice: "vLLM bench serve (chat: the role-only chunk counts)",
  first_content:
    "SGLang bench, AIPerf, LLMPerf, HF inference-benchmarker, inference-perf, GuideLLM (first token line); servelab's ttft_ms",
};

/** One row of the TTFT-variants table. */
export type TtftVariantRow = {
  variant: TtftVariant;
  stamped_at: string;
  series: string;
  endpoint: string;
  n: number;
  p50_ms?: number;
  mean_ms?: number;
  reported_by: string;
};

/**
 * The TTFT-variants table: each variant's p50 and mean per series, where it is stamped and which tools
 * report it as TTFT.
 *
 * @example
 * ```ts
 * await show(table(ttftVariantRows(summary)));
 * ```
 */
export function ttftVariantRows(s: TtftSummary): TtftVariantRow[] {
  return s.variants.map((v) => ({
    variant: v.variant,
    stamped_at: TTFT_VARIANTS.find((d) => d.variant === v.variant)!.stamped,
    series: v.series,
    endpoint: v.endpoint,
    n: v.n,
    p50_ms: v.p50_ms,
    mean_ms: v.mean_ms,
    reported_by: TTFT_VARIANT_PEERS[v.variant],
  }));
}

/** A key number of the write-up: its id (stable, for tests and tools), label, unit and decimals. */
export type TtftKeyNumber = {
  key: string;
  label: string;
  value?: number;
  unit: string;
  decimals: number;
  n?: number;
};

/**
 * The write-up's "Key numbers" table rows, from the summary.
 *
 * @example
 * ```ts
 * ttftKeyNumbers(summary).find((k) => k.key === "cold_warm_factor")?.value;
 * ```
 */
export function ttftKeyNumbers(s: TtftSummary): TtftKeyNumber[] {
  const v = (variant: TtftVariant) => s.variants.find((x) => x.series === "warm" && x.variant === variant);
  return [
    {
      key: "ready_s_mean",
      label: "ready, launcher wall time (mean)",
      value: s.startup.ready_s.mean,
      unit: "s",
      decimals: 3,
      n: s.startup.ready_s.n,
    },
    {
      key: "log_phases_s_mean",
      label: "startup phases from the log, total (mean)",
      value: s.startup.log_total_s.mean,
      unit: "s",
      decimals: 3,
      n: s.startup.log_total_s.n,
    },
    {
      key: "cold_p50_ms",
      label: "cold TTFT, first request after ready (p50)",
      value: s.cold.p50,
      unit: "ms",
      decimals: 2,
      n: s.cold.n,
    },
    { key: "warm_p50_ms", label: "warm TTFT (p50)", value: s.warm.p50, unit: "ms", decimals: 2, n: s.warm.n },
    { key: "warm_p95_ms", label: "warm TTFT (p95)", value: s.warm.p95, unit: "ms", decimals: 2, n: s.warm.n },
    { key: "warm_p99_ms", label: "warm TTFT (p99)", value: s.warm.p99, unit: "ms", decimals: 2, n: s.warm.n },
    {
      key: "cold_warm_factor",
      label: "cold / warm (p50 / p50)",
      value: s.cold_warm_factor,
      unit: "x",
      decimals: 2,
    },
    {
      key: "prefill_slope_ms_per_token",
      label: "prefill cost per prompt token (fit slope)",
      value: s.length.fit?.slope_ms_per_token,
      unit: "ms/token",
      decimals: 5,
      n: s.length.fit?.n_points,
    },
    {
      key: "prefill_intercept_ms",
      label: "TTFT at zero prompt tokens (fit intercept)",
      value: s.length.fit?.intercept_ms,
      unit: "ms",
      decimals: 2,
      n: s.length.fit?.n_points,
    },
    {
      key: "prefill_r2",
      label: "fit R²",
      value: s.length.fit?.r2,
      unit: "",
      decimals: 4,
      n: s.length.fit?.n_points,
    },
    {
      key: "idle_first_ms",
      label: "first request after idle",
      value: s.idle.first_ms,
      unit: "ms",
      decimals: 2,
      n: s.idle.first_ms === undefined ? 0 : 1,
    },
    { key: "idle_factor", label: "after idle / warm p50", value: s.idle.factor, unit: "x", decimals: 2 },
    {
      key: "client_mean_ms",
      label: "client TTFT, warm windows (mean)",
      value: s.server.client_mean_ms,
      unit: "ms",
      decimals: 2,
      n: s.server.client_n,
    },
    {
      key: "server_mean_ms",
      label: "server TTFT histogram (mean)",
      value: s.server.server_mean_ms,
      unit: "ms",
      decimals: 2,
      n: s.server.server_count,
    },
    {
      key: "outside_mean_ms",
      label: "client - server (mean): outside the engine",
      value: s.server.outside_mean_ms,
      unit: "ms",
      decimals: 2,
    },
    {
      key: "first_byte_p50_ms",
      label: "warm time to first byte (p50)",
      value: v("first_byte")?.p50_ms,
      unit: "ms",
      decimals: 2,
      n: v("first_byte")?.n,
    },
  ];
}

const num = (x: number | undefined, d: number): string =>
  x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(d);
const esc = (x: unknown): string => escapeMarkdown(String(x));
const row = (cells: readonly unknown[]): string =>
  `| ${
    cells.map((c) => (c === undefined || c === null || String(c) === "" ? "–" : String(c))).join(" | ")
  } |`;
const head = (cells: readonly string[]): string[] => [row(cells), row(cells.map(() => "---"))];

/**
 * The command lines of the run: the whole run, and the engine as each launch started it.
 *
 * @example
 * ```ts
 * ttftCommands(lab, cfg)[0]; // "./servelab run --engine sim --size test"
 * ```
 */
export function ttftCommands(lab: LabEnv, config: ServeConfig): string[] {
  const args = shellLine(buildServeArgs(config)).replace(/--port 0\b/, "--port 8000");
  const run = shellLine([
    "./servelab",
    "run",
    "--engine",
    lab.engine,
    "--size",
    lab.size,
    "--model",
    config.model,
  ]);
  switch (config.engine) {
    case "sim":
      return [run, `./servelab sim serve ${args}`];
    case "vllm":
      return [run, `VLLM_SERVER_DEV_MODE=1 vllm serve ${args}`];
    case "llamacpp":
      return [
        run,
        `llama-server ${llamaServerArgs(config).join(" ").replace(/--port 0\b/, "--port 8000")}`,
      ];
    case "external":
      return [
        `${shellEnv({ SERVELAB_URL: config.url ?? "" })} ${run}`,
        `# none: the lab attached to ${config.url}`,
      ];
    default: {
      const never: never = config.engine;
      throw new Error(`Unknown engine ${never}`);
    }
  }
}

/**
 * Renders `first_token_latency.md` from the summary and its context.
 *
 * @example
 * ```ts
 * const text = ttftWriteup(ttftSummary(tables), { run_id, lab, params, config, environment: [] });
 * ```
 */
export function ttftWriteup(s: TtftSummary, ctx: TtftWriteupContext): string {
  const st = s.startup;
  // By identity: the embedded engine is SIMULATED however the lab reached it.
  const sim = ctx.config.engine === "sim" || ctx.lab.simulated || isEmbeddedEngine(st.version);
  const label = engineLabel(ctx.config, st.version);
  const L: string[] = [];
  L.push(`# Tier 1 — Time to first token${sim ? " — SIMULATED" : ""}`, "");
  if (sim) {
    L.push(
      `> **SIMULATED.** Every number below comes from servelab's embedded engine (a model of vLLM on the ` +
        `${esc(ctx.config.sim.gpu)} profile), served in real time on this machine, not from a GPU. Startup ` +
        `phase durations are the simulated durations a real GPU would take; the launcher's ready time is the ` +
        `compressed wall time (time scale ${num(st.time_scale, 3)}).`,
      "",
    );
  }
  L.push(
    `**Engine:** ${esc(label)}  `,
    `**Run:** ${esc(ctx.run_id)}, size ${ctx.lab.size}, seed ${ctx.lab.seed}. Generated from ` +
      `${TTFT_FILES.requests}, ${TTFT_FILES.startup} and ${TTFT_FILES.server}.`,
    "",
    "## Question",
    "",
    "How long does a user wait for the first token: right after the server comes up (cold), once it is " +
      "warm, as the prompt grows, and after an idle period? How much of that wait happens inside the engine?",
    "",
    "## Environment",
    "",
    `- Engine: ${esc(label)}`,
    ...ctx.environment.map((e) => `- ${esc(e)}`),
    "",
    "## Commands",
    "",
    ...ttftCommands(ctx.lab, ctx.config).map((c) => `- \`${c}\``),
    `- Requests: streamed \`POST /v1/completions\` with token-id prompts of exact length (built with ` +
      `\`/tokenize\`, one seed per prompt so none shares a cached prefix), \`max_tokens\` ${ctx.params.max_tokens}, ` +
      "`ignore_eos`, temperature 0, one request at a time; the chat series uses `/v1/chat/completions` with text.",
    "",
    "## Parameters",
    "",
    ...head(["parameter", "value", "variable"]),
    ...Object.entries(TTFT_ENV_VARS).map(([k, { name }]) => {
      const v = ctx.params[k as keyof TtftParams];
      return row([k, Array.isArray(v) ? v.join(",") : v, `\`${name}\``]);
    }),
    "",
  );

  L.push(`## Key numbers${sim ? " (SIMULATED)" : ""}`, "");
  L.push(...head(["key", "quantity", "value", "unit", "n"]));
  for (const k of ttftKeyNumbers(s)) {
    L.push(row([`\`${k.key}\``, k.label, num(k.value, k.decimals), k.unit, k.n ?? ""]));
  }
  L.push("");

  L.push("## Startup", "");
  if (!st.measured) {
    L.push(
      "Not measured: the engine is external (the lab attached to a running server), so there is no launch " +
        "to time and no startup log to read.",
      "",
    );
  } else {
    L.push(...head(["phase", "mean s", "min s", "max s", "launches", "source", "clock"]));
    for (const p of st.phases) {
      L.push(row([p.phase, num(p.mean_s, 3), num(p.min_s, 3), num(p.max_s, 3), p.n, p.source, p.clock]));
    }
    L.push(
      row([
        "ready (spawn to /health 200)",
        num(st.ready_s.mean, 3),
        num(st.ready_s.min, 3),
        num(st.ready_s.max, 3),
        st.ready_s.n,
        "launcher",
        sim ? "wall_compressed" : "wall",
      ]),
      "",
    );
    if (st.simulated) {
      L.push(
        `The log phases are SIMULATED durations (${num(st.log_total_s.mean, 3)} s in total per launch, ` +
          `largest: ${
            st.largest_phase ?? "n/a"
          }), printed by the embedded engine in vLLM's log format and parsed ` +
          "by the same code as a real vLLM log. The ready time is what the launcher measured on this machine's " +
          `wall clock with the simulated waits scaled by ${
            num(st.time_scale, 3)
          }: it is not comparable to the ` +
          "phase durations. Process start and API-server start are not in vLLM's log, so they are not listed.",
        "",
      );
    } else {
      L.push(
        `The log phases total ${num(st.log_total_s.mean, 3)} s per launch (largest: ${
          st.largest_phase ?? "n/a"
        }); ` +
          `${num(st.not_in_log_s, 3)} s of the ready time is in no logged phase (process start, imports, ` +
          "API-server start, what the log does not time).",
        "",
      );
    }
  }

  L.push("## Cold vs warm", "");
  L.push(...head(["series", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"]));
  for (const [name, x] of [["cold", s.cold], ["warm", s.warm]] as const) {
    L.push(row([name, x.n, num(x.mean, 2), num(x.p50, 2), num(x.p95, 2), num(x.p99, 2), num(x.max, 2)]));
  }
  L.push("");
  if (s.cold.n === 0) {
    L.push("Cold TTFT not measured: the lab cannot restart an external engine.", "");
  } else {
    L.push(
      `Cold is the first request after \`/health\` answered 200 on a fresh engine, one per launch ` +
        `(n = ${s.cold.n}); warm is the next ${ctx.params.warm_requests} requests of the same length on each launch ` +
        `(n = ${s.warm.n}). Cold / warm = ${num(s.cold_warm_factor, 2)}x (p50 over p50).`,
      "",
    );
  }
  const curve = s.curve.slice(0, 6);
  if (curve.length) {
    L.push(
      "Warm-up curve (median over launches by request index since ready): " +
        curve.map((c) => `#${c.request_index} ${num(c.median_ms, 2)} ms`).join(", ") +
        (s.curve.length > curve.length ? ", ..." : "") + ".",
      "",
    );
  }

  L.push("## TTFT vs prompt length", "");
  L.push(...head(["prompt tokens", "n", "median TTFT ms", "fitted ms"]));
  const fit = s.length.fit;
  for (const p of s.length.points) {
    const fitted = fit ? fit.intercept_ms + fit.slope_ms_per_token * p.prompt_tokens : undefined;
    L.push(row([p.prompt_tokens, p.n, num(p.median_ms, 2), num(fitted, 2)]));
  }
  L.push("");
  L.push(
    fit
      ? `Least-squares line through the per-length medians: TTFT = ${num(fit.intercept_ms, 2)} ms + ` +
        `${num(fit.slope_ms_per_token, 5)} ms/token x prompt tokens (R² = ${
          num(fit.r2, 4)
        }, ${fit.n_points} lengths), ` +
        (s.length.clear_trend
          ? `i.e. ${num(fit.slope_ms_per_token * 1000, 2)} ms per 1,000 prompt tokens, about ` +
            `${num(s.length.prefill_tokens_per_s, 0)} prompt tokens/s of prefill for one request.`
          : `no clear trend (R² below ${MIN_TREND_R2} or a slope that is not positive): no prefill rate is drawn from it.`)
      : "No fit: fewer than two prompt lengths succeeded.",
    "",
  );

  L.push("## Re-warm after idle", "");
  const idle = s.idle;
  L.push(
    idle.first_ms === undefined
      ? "Not measured: no successful request after the idle period."
      : `After ${num(idle.gap_s, 1)} s idle, the first request took ${num(idle.first_ms, 2)} ms, ` +
        `${num(idle.factor, 2)}x the warm p50 of ${num(idle.warm_p50_ms, 2)} ms ` +
        `(${idle.above_warm_p95 ? "above" : "within"} the warm p95 of ${
          num(idle.warm_p95_ms, 2)
        } ms); the next ` +
        `${idle.later_ms.length} took ${
          idle.later_ms.map((x) => num(x, 2)).join(", ")
        } ms. One idle period, n = 1.`,
    "",
  );

  L.push("## Client TTFT vs the server's histogram", "");
  const sv = s.server;
  if (!sv.measured) {
    L.push(
      ctx.missing_metrics
        ? `Not measured: ${esc(ctx.missing_metrics)}.`
        : "Not measured: the engine's `/metrics` could not be scraped around the warm series.",
      "",
    );
  } else {
    L.push(
      ...head(["", "client (ttft_ms, first content)", `server (${esc(sv.metric)})`, "client - server"]),
      row(["requests", sv.client_n, sv.server_count, ""]),
      row(["mean ms", num(sv.client_mean_ms, 2), num(sv.server_mean_ms, 2), num(sv.outside_mean_ms, 2)]),
      row(["p50 ms", num(sv.client_p50_ms, 2), num(sv.server_p50_ms, 2), num(sv.outside_p50_ms, 2)]),
      "",
      `Scraped \`/metrics\` before and after the warm series of ${sv.launches} launch(es); the server's ` +
        "histogram delta holds the same requests. The server's mean (sum / count) is exact; its p50 is " +
        `estimated inside the bucket ${num(sv.server_p50_bucket_ms?.lower, 2)}-${
          num(sv.server_p50_bucket_ms?.upper, 2)
        } ms, ` +
        `so the p50 difference is only as good as that bucket (the client's p50 is ` +
        `${sv.client_p50_in_server_bucket ? "inside" : "outside"} it). Client minus server (means): ` +
        `${num(sv.outside_mean_ms, 2)} ms, ${
          num((sv.outside_share ?? NaN) * 100, 1)
        }% of the client's TTFT, spent ` +
        "outside the engine's measurement (HTTP, SSE framing, the client).",
      "",
    );
  }

  L.push("## TTFT variants", "");
  L.push(
    ...head(["variant", "stamped at", "series", "endpoint", "n", "p50 ms", "mean ms", "reported as TTFT by"]),
  );
  for (const v of ttftVariantRows(s)) {
    L.push(
      row([
        v.variant,
        v.stamped_at,
        v.series,
        v.endpoint,
        v.n,
        num(v.p50_ms, 2),
        num(v.mean_ms, 2),
        v.reported_by,
      ]),
    );
  }
  L.push(
    "",
    "Which tool stamps what: shared/reference/peers.md §11. The headline TTFT of this report is first content.",
    "",
  );

  L.push("## Requests", "");
  L.push(...head(["series", "requests", "failed", "with cached prompt tokens"]));
  for (const c of s.series) L.push(row([c.series, c.requests, c.failed, c.with_cached_tokens]));
  L.push("");

  L.push("## Client self-check", "");
  L.push(...clientSection(s, ctx.params));
  L.push("");

  L.push(
    "## Charts (in 01_ttft.html)",
    "",
    "- Startup phases per launch (bar chart, log phases and the launcher's ready time).",
    "- Warm-up curve: TTFT by request index since ready, one line per launch.",
    "- Cold vs warm TTFT (dots per request).",
    "- TTFT vs prompt length with the fitted line.",
    "- Re-warm after idle against the warm p50 and p95.",
    "- Client vs server TTFT (mean and p50).",
    "- Requests of a point the client self-check marked invalid: red crosses.",
    "",
  );

  L.push("## Observations", "");
  L.push(...ttftObservations(s, ctx).map((o) => `- ${o}`), "");
  return L.join("\n");
}

/**
 * The findings as sentences, computed from the summary (the notebook shows the same ones).
 *
 * @example
 * ```ts
 * for (const o of ttftObservations(summary, ctx)) console.log(o);
 * ```
 */
export function ttftObservations(s: TtftSummary, ctx: Pick<TtftWriteupContext, "config">): string[] {
  const out: string[] = [];
  const tag = ctx.config.engine === "sim" ? "SIMULATED: " : "";
  if (s.client.invalid.length > 0) {
    out.push(
      `${s.client.invalid.length} of ${s.client.checked_points} point(s) invalid: the client was too slow ` +
        `(${s.client.invalid.map((p) => `${p.point_id}: ${p.reason}`).join("; ")}). Their requests stay in ` +
        `${TTFT_FILES.requests} and on the charts but are left out of every number here.`,
    );
  }
  if (s.cold.n > 0 && s.cold_warm_factor !== undefined) {
    out.push(
      `${tag}the first request after ready took ${num(s.cold.p50, 2)} ms (p50 of ${s.cold.n} launch(es)), ` +
        `${num(s.cold_warm_factor, 2)}x the warm p50 of ${num(s.warm.p50, 2)} ms: ` +
        (s.cold_warm_factor > 1.5
          ? "a health check that says ready does not mean the first user gets warm latency; send a warm-up request before taking traffic."
          : "the cold request costs little more than a warm one here."),
    );
  }
  const second = s.curve.find((c) => c.request_index === 1);
  if (second && s.warm.p95 !== undefined) {
    out.push(
      `${tag}the second request took ${num(second.median_ms, 2)} ms, ` +
        (second.median_ms <= s.warm.p95 ? "already within" : "still above") +
        ` the warm p95 of ${num(s.warm.p95, 2)} ms: the warm-up cost is paid by ` +
        (second.median_ms <= s.warm.p95 ? "the first request alone." : "more than the first request."),
    );
  }
  const fit = s.length.fit;
  const pts = s.length.points;
  if (fit && pts.length >= 2 && !s.length.clear_trend) {
    out.push(
      `${tag}TTFT shows no clear trend with the prompt between ${pts[0].prompt_tokens} and ${
        pts[pts.length - 1].prompt_tokens
      } tokens (fit R² ${num(fit.r2, 4)}, below ${MIN_TREND_R2}): no prefill cost is stated.`,
    );
  } else if (fit && pts.length >= 2) {
    out.push(
      `${tag}TTFT ${s.length.grows ? "grows" : "does not grow"} with the prompt: ${
        num(pts[0].median_ms, 2)
      } ms at ` +
        `${pts[0].prompt_tokens} tokens, ${num(pts[pts.length - 1].median_ms, 2)} ms at ${
          pts[pts.length - 1].prompt_tokens
        }; ` +
        `prefill costs ${num(fit.slope_ms_per_token * 1000, 2)} ms per 1,000 prompt tokens (R² ${
          num(fit.r2, 4)
        }).`,
    );
  }
  if (s.idle.first_ms !== undefined) {
    out.push(
      `${tag}after ${num(s.idle.gap_s, 1)} s idle the first request took ${
        num(s.idle.factor, 2)
      }x the warm p50 ` +
        (s.idle.above_warm_p95
          ? "(above the warm p95): idle periods make the next request slower; one sample."
          : "(within the warm p95): no re-warm cost seen at this idle length; one sample."),
    );
  }
  if (s.server.measured && s.server.outside_mean_ms !== undefined) {
    out.push(
      `${tag}the server's histogram accounts for ${num(s.server.server_mean_ms, 2)} ms of the client's ` +
        `${num(s.server.client_mean_ms, 2)} ms mean TTFT; ${num(s.server.outside_mean_ms, 2)} ms ` +
        `(${
          num((s.server.outside_share ?? NaN) * 100, 1)
        }%) is outside the engine: HTTP, SSE and the client.`,
    );
  }
  const fb = s.variants.find((v) => v.series === "warm" && v.variant === "first_byte");
  const fc = s.variants.find((v) => v.series === "warm" && v.variant === "first_content");
  if (fb?.p50_ms !== undefined && fc?.p50_ms !== undefined) {
    out.push(
      `${tag}response headers arrive after ${num(fb.p50_ms, 2)} ms (p50), the first content after ` +
        `${num(fc.p50_ms, 2)} ms: time to first byte is not time to first token.`,
    );
  }
  const failed = s.series.reduce((a, c) => a + c.failed, 0);
  const cached = s.series.filter((c) => c.series !== "chat").reduce((a, c) => a + c.with_cached_tokens, 0);
  out.push(
    `${failed} request(s) failed; ${cached} completion request(s) had cached prompt tokens` +
      (cached === 0 ? " (prefix caching hid no prefill)." : " (their TTFT understates prefill)."),
  );
  return out;
}

/** The self-check section: the threshold, the worst lags, and each invalid point with its reason. */
function clientSection(s: TtftSummary, params: TtftParams): string[] {
  const c = s.client;
  if (c.checked_points === 0) {
    return ["Not measured: this run's points were measured before the tier had a client self-check."];
  }
  const L = [
    `Each point records how late the client's own event loop ran (a 10 ms timer's lateness) and each ` +
    `request's send lag (send time minus when it was due: back to back within a series). A point whose ` +
    `p99 of either exceeds ${params.max_client_lag_ms} ms (\`${TTFT_ENV_VARS.max_client_lag_ms.name}\`) is ` +
    `invalid: the client, not the engine, set part of its TTFTs. Worst point: event-loop lag p99 ` +
    `${num(c.event_loop_lag_p99_ms, 2)} ms, send lag p99 ${num(c.send_lag_p99_ms, 3)} ms. ` +
    (c.invalid.length === 0
      ? `All ${c.checked_points} point(s) valid.`
      : `${c.invalid.length} of ${c.checked_points} point(s) invalid, left out of every number above:`),
  ];
  if (c.invalid.length > 0) {
    L.push("", ...head(["point", "requests", "event-loop lag p99 ms", "send lag p99 ms", "reason"]));
    for (const p of c.invalid) {
      L.push(row([
        p.point_id,
        p.requests,
        num(p.event_loop_lag_p99_ms, 2),
        num(p.send_lag_p99_ms, 3),
        esc(p.reason),
      ]));
    }
  }
  return L;
}

/** Environment lines from a run's manifest (host, GPU, code). */
async function environmentLines(run: Run): Promise<string[]> {
  try {
    const m = await readManifest(run.manifestPath);
    const h = m.host;
    const gpu = m.gpu.kind === "nvidia"
      ? `GPU: ${m.gpu.devices.map((d) => d.name).join(", ")} (driver ${m.gpu.driver_version ?? "n/a"})`
      : "GPU: none visible (nvidia-smi)";
    return [
      `Host: ${h.cpu_model ?? "CPU n/a"}, ${h.cores} cores, ${h.memory_gib?.toFixed(1) ?? "n/a"} GiB, ` +
      `${h.os ?? "OS n/a"}, kernel ${h.kernel ?? "n/a"} (${h.arch})`,
      gpu,
      `servelab ${m.servelab.version}${
        m.servelab.git_commit ? ` at ${m.servelab.git_commit.slice(0, 12)}` : ""
      }` +
      `${m.servelab.git_dirty ? " (modified tree)" : ""}, Deno ${m.deno_version}`,
    ];
  } catch {
    return ["Host: manifest not readable"];
  }
}

/** What {@link writeTtftReport} returns. */
export interface TtftReport {
  tables: TtftTables;
  summary: TtftSummary;
  context: TtftWriteupContext;
  markdown: string;
  /** Path of first_token_latency.md. */
  path: string;
}

/**
 * Reads the tier's CSVs back from the run folder, summarizes them and writes `first_token_latency.md`.
 *
 * @example
 * ```ts
 * const report = await writeTtftReport(run, lab, params);
 * console.log(report.path, report.summary.cold_warm_factor);
 * ```
 */
export async function writeTtftReport(run: Run, lab: LabEnv, params: TtftParams): Promise<TtftReport> {
  const tables = await readTtftTables(run.dir);
  const summary = ttftSummary(tables);
  const context: TtftWriteupContext = {
    run_id: run.id,
    lab,
    params,
    config: serveConfigFor(lab),
    environment: await environmentLines(run),
    missing_metrics: missingCapability(await runCapabilities(run), "metrics"),
  };
  const markdown = ttftWriteup(summary, context);
  const path = join(run.dir, TTFT_FILES.writeup);
  await writeTextAtomic(path, withNote(markdown, await failedPointsMd(run.dir, "ttft")));
  return { tables, summary, context, markdown, path };
}
