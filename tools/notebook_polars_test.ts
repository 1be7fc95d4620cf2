// Issue 17: each tier notebook computes its key table in the open with polars and checks it against lib's
// numbers in the same cell. These tests run that very cell (the one tagged `polars-check`, read from the
// notebook) on a small CSV, with lib's numbers computed from the same rows: it passes on the CSV as written and
// fails loudly when one value of the CSV is perturbed after lib read it.
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { stringify } from "csv-stringify/sync";
import { requestCells } from "../lib/analysis/_request_fixture.ts";
import { factBook } from "../lib/report/fact_book.ts";
import { assertAgrees, batching, kv, md, prefix, type show as _show, table, ttft } from "../lib/mod.ts";
import { ttftFacts } from "../lib/tiers/ttft/facts.ts";
import { prefixFacts } from "../lib/tiers/prefix/facts.ts";
import { kvFacts } from "../lib/tiers/kv/facts.ts";
import { batchingFindings } from "../lib/tiers/batching/analyze.ts";
import type { BatchingPointRow, BatchingRequestRow } from "../lib/tiers/batching/point_row.ts";
import { cellSource, readNotebook } from "./_notebooks.ts";

type Row = Record<string, string | number | boolean | undefined>;

/** The source of the notebook cell tagged `tag`; it must be plain JavaScript (no type annotations). */
async function taggedCell(notebook: string, tag: string): Promise<string> {
  const nb = await readNotebook(new URL(`../notebooks/${notebook}`, import.meta.url).pathname);
  const cells = nb.cells.filter((c) => ((c.metadata as { tags?: string[] })?.tags ?? []).includes(tag));
  assert.equal(cells.length, 1, `${notebook} has one cell tagged ${tag}`);
  return cellSource(cells[0]);
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...a: unknown[]) => Promise<void>;

/** Runs a cell with the names it uses bound; returns what it showed. */
async function runCell(src: string, bindings: Record<string, unknown>): Promise<unknown[]> {
  const shown: unknown[] = [];
  const all = {
    pl,
    table,
    md,
    assertAgrees,
    show: (...items: unknown[]) => shown.push(...items),
    ...bindings,
  };
  await new AsyncFunction(...Object.keys(all), src)(...Object.values(all));
  return shown;
}

async function csvFile(rows: readonly Row[]): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".csv" });
  await Deno.writeTextFile(
    path,
    stringify(rows as Row[], {
      header: true,
      columns: Object.keys(rows[0]),
      cast: { boolean: (b) => String(b) },
    }),
  );
  return path;
}

const book = (file: string, rows: readonly Row[]) =>
  factBook({
    dir: "",
    manifest: {},
    csv: new Map([[
      file,
      rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))),
    ]]),
    status: {},
    files: [],
  });

/** The cell passes on `rows` and throws naming the disagreement on `perturbed`. */
async function passesThenFails(
  cell: string,
  rows: readonly Row[],
  perturbed: readonly Row[],
  bind: (csv: string) => Record<string, unknown>,
  expected: RegExp,
) {
  const ok = await runCell(cell, bind(await csvFile(rows)));
  const agreement = ok.find((x) => (x as { kind?: string }).kind === "agreement") as
    | { values: number }
    | undefined;
  assert.ok(agreement && agreement.values > 0, "the cell shows lib's agreement, with values compared");
  const perturbedCsv = await csvFile(perturbed);
  await assert.rejects(() => runCell(cell, bind(perturbedCsv)), expected);
}

Deno.test("01_ttft: the polars cold/warm table agrees with lib, and a perturbed ttft.csv fails the cell", async () => {
  const cell = await taggedCell("01_ttft.ipynb", "polars-check");
  const r = (series: string, ttft_ms: number, client_ok = true) => ({ series, ttft_ms, ok: true, client_ok });
  const rows = [
    r("cold", 100),
    r("cold", 120),
    ...[10, 11, 12, 13].map((x) => r("warm", x)),
    r("warm", 900, false),
  ];
  const facts = { ttft: ttftFacts(book("ttft.csv", rows)) };
  const perturbed = rows.map((x, i) => i === 3 ? { ...x, ttft_ms: 15 } : x);
  await passesThenFails(
    cell,
    rows,
    perturbed,
    (csv) => ({ ttft, facts, measured: { files: { requests: csv } } }),
    /the cold\/warm table and lib disagree \(3 problems\).*series="warm" p50_ms: the cold\/warm table 12\.5, lib 11\.5/s,
  );
});

Deno.test("02_prefix_caching: the polars length table agrees with lib, and a perturbed prefix_cache.csv fails", async () => {
  const cell = await taggedCell("02_prefix_caching.ipynb", "polars-check");
  const r = (prefix_tokens: number, arm: string, ttft_ms: number, concurrency = 1) => ({
    sweep: "length",
    concurrency,
    prefix_tokens,
    arm,
    phase: "measure",
    ok: true,
    ttft_ms,
  });
  const rows = [
    r(2048, "off", 60),
    r(2048, "off", 64),
    r(2048, "on", 20),
    r(8, "off", 20),
    r(8, "on", 21),
    r(2048, "on", 9, 4),
  ];
  const facts = { prefix: prefixFacts(book("prefix_cache.csv", rows)) };
  const perturbed = rows.map((x, i) => i === 2 ? { ...x, ttft_ms: 31 } : x);
  await passesThenFails(
    cell,
    rows,
    perturbed,
    (csv) => ({ prefix, facts, measured: { requests_csv: csv } }),
    /prefix_tokens=2048 on_p50_ms: the length table 31, lib 20/,
  );
});

Deno.test("03_kv_scaling: the polars KV table agrees with lib, and a perturbed kv_cache_scaling.csv fails", async () => {
  const cell = await taggedCell("03_kv_scaling.ipynb", "polars-check");
  const rows = [1024, 4096].map((L) => ({
    role: "sweep",
    started: true,
    max_model_len: L,
    kv_cache_tokens: 16000,
    max_concurrency: 16000 / L,
    gpu_mem_used_gib: 70,
  }));
  const facts = { kv: kvFacts(book("kv_cache_scaling.csv", rows)) };
  const perturbed = rows.map((x, i) => i === 1 ? { ...x, kv_cache_tokens: 12000 } : x);
  await passesThenFails(
    cell,
    rows,
    perturbed,
    (csv) => ({ kv, facts, M: { scaling_csv: csv } }),
    /max_model_len=4096 kv_tokens: the KV table 12000, lib 16000/,
  );
});

Deno.test("04_batching: the polars concurrency table agrees with lib's findings, and a perturbed CSV fails", async () => {
  const cell = await taggedCell("04_batching.ipynb", "polars-check");
  const C = [1, 4];
  const points: BatchingPointRow[] = C.map((c) => ({
    point_id: `c${c}-r1`,
    sweep: "concurrency",
    repeat: 1,
    concurrency: c,
    latency_from: "send",
    requests_sent: 6,
    requests_ok: 6,
    requests_failed: 0,
    throughput_rps: 10 * c,
    server_samples: 0,
    valid: c === 1,
  }));
  const requests: BatchingRequestRow[] = C.flatMap((c) =>
    Array.from({ length: 6 }, (_, i) => ({
      ...requestCells(),
      point_id: `c${c}-r1`,
      sweep: "concurrency" as const,
      repeat: 1,
      part: i === 0 ? "warmup" as const : "measure" as const,
      concurrency: c,
      ok: true,
      ttft_ms: 20 * c + i,
      e2e_ms: 100 + c + i,
    }))
  );
  const findings = batchingFindings(points, requests, { ...batching.PRESETS.test, ci_resamples: 10 });
  const requestCsv = (reqs: BatchingRequestRow[]) =>
    reqs.map((q) => ({
      point_id: q.point_id,
      sweep: q.sweep,
      part: q.part,
      ok: q.ok,
      concurrency: q.concurrency,
      ttft_ms: q.ttft_ms,
      e2e_ms: q.e2e_ms,
    }));
  const pointsCsv = await csvFile(points.map((p) => ({ point_id: p.point_id, valid: p.valid })));
  const perturbed = requestCsv(requests).map((x, i) => i === 8 ? { ...x, ttft_ms: 500 } : x);
  await passesThenFails(
    cell,
    requestCsv(requests),
    perturbed,
    (csv) => ({ batching, findings, measured: { files: { concurrency: pointsCsv, requests: csv } } }),
    /the concurrency table and lib disagree .*concurrency=4 ttft_p95_ms: the concurrency table/s,
  );
});
