import assert from "node:assert/strict";
import { assertRendersAndMatches } from "../../report/_snapshot.ts";
import type { Row } from "../../report/fact.ts";
import type { RunData } from "../../report/fact_book.ts";
import { kvConcurrencyChart, kvLoadChart, kvMemoryChart } from "./charts.ts";
import { KV_SCALING_FILE } from "./measure.ts";
import type { KvLoadRow, KvLoadSample, KvRow } from "./rows.ts";
import { kvTier } from "./tier.ts";

// Synthetic rows (not a measurement): a fixed pool of 1,024 blocks of 16 tokens.
const GiB = 2 ** 30;
const BPT = 28672;
const BLOCKS = 1024;
const LABEL = "embedded engine (SIMULATED), test fixture";

function sweepRow(L: number, extra: Partial<KvRow> = {}): KvRow {
  const pool = BLOCKS * 16;
  const avail = Math.round(pool * BPT / GiB * 100) / 100;
  return {
    point_id: `L${L}`,
    role: "sweep",
    engine: "sim",
    max_model_len: L,
    started: true,
    num_gpu_blocks: BLOCKS,
    block_size: 16,
    pool_tokens: pool,
    kv_cache_tokens: pool,
    max_concurrency: Math.round(BLOCKS / Math.ceil(L / 16) * 100) / 100,
    available_kv_gib: avail,
    weights_gib: 2.88,
    gpu_mem_used_gib: 2.88 + avail,
    gpu_mem_source: "engine_log",
    ...extra,
  };
}

// Written out of order, with a util point and a fit probe that did not start: only the started sweep is drawn.
const rows: KvRow[] = [
  sweepRow(4096),
  sweepRow(1024),
  sweepRow(16384),
  sweepRow(2048, { role: "util", gpu_memory_utilization: 0.5, max_concurrency: 4 }),
  {
    ...sweepRow(65536),
    role: "fit_probe",
    started: false,
    max_concurrency: undefined,
    fit_error_kind: "kv_fit",
  },
];

function loadRow(n: number, client_ok: boolean): KvLoadRow {
  return {
    step: n,
    concurrent: n,
    request_tokens: 4096,
    prompt_tokens: 4032,
    max_tokens: 64,
    num_gpu_blocks: 1153,
    block_size: 16,
    predicted_max_concurrent: 4,
    requests_ok: n,
    requests_failed: 0,
    running_max: Math.min(n, 4),
    waiting_max: Math.max(0, n - 4),
    preemptions: 0,
    limited: n > 4,
    client_ok,
  };
}
const load_rows = [loadRow(4, true), loadRow(5, false)];
const samples: KvLoadSample[] = load_rows.flatMap((r) =>
  [0, 50, 100, 150].map((t_ms, i) => ({
    step: r.step,
    concurrent: r.concurrent,
    t_ms,
    running: i === 3 ? 0 : Math.min(r.concurrent, 4),
    waiting: i === 3 ? 0 : Math.max(0, r.concurrent - 4),
    kv_usage: 0.5,
  }))
);

/** The groups `<g ... aria-label="NAME">` whose attributes match `attrs`: their marks' markup, in order. */
function marksIn(svg: string, name: string, attrs?: RegExp): string[] {
  return [...svg.matchAll(new RegExp(`<g ([^>]*)aria-label="${name}">([\\s\\S]*?)</g>`, "g"))]
    .filter((m) => attrs === undefined || attrs.test(m[1]))
    .flatMap((m) => m[2].match(/<(path|rect|line|circle|text)[^>]*>/g) ?? []);
}

Deno.test("kvConcurrencyChart: the started sweep's reports as labelled dots, in length order, and the 1/L line (snapshot)", async () => {
  const chart = kvConcurrencyChart({ rows, engine_label: LABEL });
  assert.equal(chart.title, "Max concurrency against max-model-len (log-log)");
  assert.equal(chart.subtitle, LABEL);
  const svg = await assertRendersAndMatches(chart, import.meta.url, "kv_concurrency");
  assert.equal(marksIn(svg, "dot").length, 3, "three started sweep points; util and fit probe left out");
  assert.deepEqual(
    [...svg.matchAll(/<g [^>]*aria-label="text">([\s\S]*?)<\/g>/g)].flatMap((m) =>
      [...m[1].matchAll(/>([^<]+)<\/text>/g)].map((t) => t[1])
    ),
    ["16", "4", "1"],
    "labels in ascending max-model-len: 1024, 4096, 16384",
  );
  assert.equal(marksIn(svg, "line").length, 2, "the 1/L reference and the measured line");
  assert.equal(marksIn(svg, "line", /stroke-width="8"[^]*stroke="gray"/).length, 1, "the wide gray 1/L line");
});

Deno.test("kvMemoryChart: memory used and the KV pool, labelled at the longest length (snapshot)", async () => {
  const chart = kvMemoryChart({ rows, engine_label: LABEL });
  const svg = await assertRendersAndMatches(chart, import.meta.url, "kv_memory");
  assert.equal(marksIn(svg, "dot").length, 6);
  assert.equal(marksIn(svg, "line", /stroke-dasharray="4 3"/).length, 1, "the KV pool dashed");
  assert.match(svg, />GPU memory used</);
  assert.match(svg, />KV pool \(available\)</);
});

Deno.test("kvLoadChart: one panel per step, the predicted rule, and the invalid step named (snapshot)", async () => {
  const chart = kvLoadChart({ load_rows, engine_label: LABEL }, samples);
  const svg = await assertRendersAndMatches(chart, import.meta.url, "kv_load");
  // Faceted: each mark's group holds one <g transform="translate(0,Y)"> per panel (c=4 at 0, c=5 below).
  assert.equal(
    (svg.match(/stroke="red" fill="none"><path /g) ?? []).length,
    2,
    "waiting, one line per panel",
  );
  assert.equal((svg.match(/stroke="gray"><line /g) ?? []).length, 2, "the predicted rule in each panel");
  assert.equal(
    (svg.match(/>invalid: client too slow</g) ?? []).length,
    1,
    "only the step with client_ok false",
  );
  assert.match(
    svg,
    /<g transform="translate\(0,[1-9]\d*\)"[^>]*fill="red"><text [^>]*>invalid: client too slow</,
  );
  const none = kvLoadChart({ load_rows: [], engine_label: LABEL }, []);
  assert.doesNotMatch(none.svg, /invalid: client too slow/);
});

/** A run whose only CSV is kv_cache_scaling.csv with `rows`, every cell as text (as readRunData reads it). */
function runData(rows: readonly KvRow[]): RunData {
  const text = rows.map((r): Row =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === undefined ? undefined : String(v)]))
  );
  return {
    dir: "/run",
    manifest: {},
    csv: new Map([[KV_SCALING_FILE, text]]),
    status: {},
    files: [KV_SCALING_FILE],
  };
}

Deno.test("kvTier.indexChart: the started sweep's max concurrency, a line and a dot per length; undefined with none (snapshot)", async () => {
  const chart = kvTier.indexChart(runData(rows), "run test-fixture");
  assert.ok(chart);
  assert.equal(chart.title, "Max concurrency against max-model-len");
  assert.equal(chart.subtitle, "run test-fixture");
  const svg = await assertRendersAndMatches(chart, import.meta.url, "kv_index");
  assert.equal(marksIn(svg, "dot").length, 3, "three started sweep points; util and fit probe left out");
  assert.equal(marksIn(svg, "line").length, 1);
  assert.equal(kvTier.indexChart(runData([]), "x"), undefined);
  assert.equal(kvTier.indexChart({ ...runData(rows), csv: new Map() }, "x"), undefined, "no scaling file");
  assert.equal(kvTier.indexChart(runData(rows.filter((r) => r.role !== "sweep")), "x"), undefined);
});
