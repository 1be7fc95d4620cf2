import assert from "node:assert/strict";
import { labEnv } from "../lab_env.ts";
import type { PrefixFindings, PrefixRunRow } from "./analyze.ts";
import { prefixParams } from "./params.ts";
import { prefixObservations, prefixTitle, prefixWriteup } from "./writeup.ts";

function findings(o: Partial<PrefixFindings> = {}): PrefixFindings {
  const row = (c: number, off: number, on: number) => ({
    sweep: "length" as const,
    point_id: `len-8192-c${c}`,
    concurrency: c,
    prefix_tokens: 8192,
    ttft_off_p50_ms: off,
    ttft_on_p50_ms: on,
    ttft_speedup: off / on,
    tok_s_off: 100,
    tok_s_on: 300,
    tok_s_gain: 3,
    hit_rate_on: 0.99,
    hit_rate_off: 0,
    kv_usage_max_off: 0.05,
    kv_usage_max_on: 0.004,
  });
  const rows = [row(1, 100, 20), row(4, 300, 25)];
  return {
    engine_label: "SIMULATED: embedded engine, H100-80GB profile, model m",
    simulated: true,
    block_size: 16,
    block_size_source: "metrics",
    pool_tokens: 1000,
    arms: ["off", "on"],
    summary: [],
    ab: rows,
    longest: { prefix_tokens: 8192, rows },
    off_cached_tokens: 0,
    off_metric_hits: 0,
    sub_block: [],
    share: [],
    agreement: {
      runs: 4,
      agree: 4,
      disagree: 0,
      not_measured: 0,
      max_hits_diff_per_request: 0,
      block_size: 16,
      disagreements: [],
    },
    cliff: { points: [] },
    client_not_ok: 0,
    runs_total: 0,
    client_invalid: [],
    reset_failed: 0,
    preemptions: 0,
    ...o,
  };
}

Deno.test("the title says SIMULATED only on the embedded engine", () => {
  assert.equal(prefixTitle(true), "Tier 2 — Prefix caching — SIMULATED");
  assert.equal(prefixTitle(false), "Tier 2 — Prefix caching");
});

Deno.test("observations carry the run's numbers", () => {
  const text = prefixObservations(findings()).join("\n");
  assert.match(text, /100\.0 ms → 20\.0 ms at concurrency 1 \(5\.0x\)/);
  assert.match(text, /300\.0 ms → 25\.0 ms at concurrency 4 \(12x\)/);
  assert.match(text, /2 of 2 concurrencies/);
  assert.match(text, /0 cached tokens/);
  assert.match(text, /agree:\*\* in 4 of 4 runs/);
  assert.match(text, /5 % off and 0\.40 % on/);
});

Deno.test("disagreements, off-arm hits and failed resets are flagged", () => {
  const text = prefixObservations(findings({
    off_cached_tokens: 512,
    agreement: {
      runs: 4,
      agree: 3,
      disagree: 1,
      not_measured: 0,
      max_hits_diff_per_request: 40,
      block_size: 16,
      disagreements: [],
    },
    reset_failed: 2,
  })).join("\n");
  assert.match(text, /Check the off arm/);
  assert.match(text, /disagree in 1 of 4 runs/);
  assert.match(text, /2 runs could not reset/);
});

Deno.test("an external engine's write-up says only the on arm ran", () => {
  const lab = labEnv({
    SERVELAB_ENGINE: "external",
    SERVELAB_URL: "http://127.0.0.1:8000",
    SERVELAB_SIZE: "test",
  });
  const f = findings({ arms: ["on"], simulated: false, engine_label: "external server" });
  const md = prefixWriteup(f, {
    lab,
    params: prefixParams(lab, {}),
    runs: [] as PrefixRunRow[],
    notes: ["on arm only"],
  });
  assert.match(md, /^# Tier 2 — Prefix caching\n/);
  assert.doesNotMatch(md, /SIMULATED/);
  assert.match(md, /external engine: caching cannot be toggled/);
  assert.match(md, /Only the caching-on arm ran/);
  assert.match(md, /## When to be careful/);
});

Deno.test("runs that failed the client self-check are listed under Invalid points, and a majority flags the observations", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "vllm", SERVELAB_SIZE: "test" });
  const ctx = { lab, params: prefixParams(lab, {}), runs: [] as PrefixRunRow[] };
  const bad = prefixWriteup(
    findings({
      client_not_ok: 2,
      runs_total: 2,
      client_invalid: [
        "len-2048-c1 on r1 (client event-loop lag p99 40 ms, send lag p99 3 ms)",
        "x off r1 (y)",
      ],
    }),
    ctx,
  );
  assert.match(bad, /## Invalid points\n\n2 of 2 runs failed the client self-check/);
  assert.match(bad, /- len-2048-c1 on r1 \(client event-loop lag p99 40 ms/);
  assert.match(bad, /\*\*Read as indicative\.\*\* 2 of 2 runs failed/);
  const good = prefixWriteup(findings({ runs_total: 4 }), ctx);
  assert.match(good, /## Invalid points\n\nNone: every run passed the client self-check\./);
  assert.doesNotMatch(good, /Read as indicative/);
});
