/**
 * Every tier CSV's header, pinned: each file's column constant must equal the recorded list in
 * testdata/columns.json (written from the constants before the headers were derived from the row
 * schemas), each row schema's keys must be that list in order, and each schema must read the kept example
 * run's file (docs/examples/vllm-cpu-tiny) and write its rows back unchanged.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { columnsOf, type CsvRow, parseCsv, readCsv, toCsv } from "../run/csv.ts";
import { BATCHING_SUMMARY_COLUMNS, BatchingSummaryRow } from "./batching/analyze.ts";
import {
  BATCHING_POINT_COLUMNS,
  BATCHING_REQUEST_COLUMNS,
  BATCHING_SERVER_COLUMNS,
  BatchingPointRow,
  BatchingRequestRow,
  BatchingServerRow,
} from "./batching/point_row.ts";
import {
  KV_COLUMNS,
  KV_LOAD_COLUMNS,
  KV_LOAD_SAMPLE_COLUMNS,
  KvLoadRow,
  KvLoadSample,
  KvRow,
} from "./kv/rows.ts";
import { PrefixRequestRow, PrefixRunRow } from "./prefix/analyze.ts";
import { PREFIX_REQUEST_COLUMNS, PREFIX_RUN_COLUMNS } from "./prefix/_run_once.ts";
import {
  TTFT_CSV_COLUMNS,
  TTFT_POINT_COLUMNS,
  TTFT_SERVER_COLUMNS,
  TTFT_STARTUP_COLUMNS,
  TtftRequestRow,
  TtftServerRow,
  TtftStartupRow,
} from "./ttft/tables.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const RECORDED: Record<string, string[]> = JSON.parse(
  await Deno.readTextFile(here("./testdata/columns.json")),
);
const EXAMPLE = here("../../docs/examples/vllm-cpu-tiny/");

/** Each tier CSV file: the constant its writer passes, and the schema its reader uses. */
const FILES: Record<string, { columns: readonly string[]; schema: z.ZodObject }> = {
  "ttft.csv": { columns: TTFT_CSV_COLUMNS, schema: TtftRequestRow },
  "startup.csv": { columns: TTFT_STARTUP_COLUMNS, schema: TtftStartupRow },
  "ttft_server.csv": { columns: TTFT_SERVER_COLUMNS, schema: TtftServerRow },
  "prefix_cache.csv": { columns: PREFIX_REQUEST_COLUMNS, schema: PrefixRequestRow },
  "prefix_cache_runs.csv": { columns: PREFIX_RUN_COLUMNS, schema: PrefixRunRow },
  "kv_cache_scaling.csv": { columns: KV_COLUMNS, schema: KvRow },
  "kv_load_confirmation.csv": { columns: KV_LOAD_COLUMNS, schema: KvLoadRow },
  "kv_load_samples.csv": { columns: KV_LOAD_SAMPLE_COLUMNS, schema: KvLoadSample },
  "concurrency_sweep.csv": { columns: BATCHING_POINT_COLUMNS, schema: BatchingPointRow },
  "rate_sweep.csv": { columns: BATCHING_POINT_COLUMNS, schema: BatchingPointRow },
  "batching_requests.csv": { columns: BATCHING_REQUEST_COLUMNS, schema: BatchingRequestRow },
  "batching_server.csv": { columns: BATCHING_SERVER_COLUMNS, schema: BatchingServerRow },
  "batching_summary.csv": { columns: BATCHING_SUMMARY_COLUMNS, schema: BatchingSummaryRow },
};

Deno.test("every tier CSV is pinned: the recorded headers and the tested files are the same set", () => {
  assert.deepEqual(Object.keys(FILES).sort(), Object.keys(RECORDED).sort());
});

Deno.test("a TTFT point's CSV is ttft.csv less its leading point_id", () => {
  assert.deepEqual(["point_id", ...TTFT_POINT_COLUMNS], RECORDED["ttft.csv"]);
});

for (const [file, { columns, schema }] of Object.entries(FILES)) {
  Deno.test(`${file}: its header is the recorded one, byte for byte`, () => {
    assert.deepEqual([...columns], RECORDED[file]);
  });

  Deno.test(`${file}: its column list is its row schema's keys, in order`, () => {
    assert.deepEqual([...columns], columnsOf(schema));
  });

  Deno.test(`${file}: its row schema reads the example run's file, and its rows write back unchanged`, async () => {
    const rows = await readCsv(EXAMPLE + file, schema);
    // The example run's rate sweep was not run (its file is the header alone); the concurrency sweep's
    // rows exercise the same schema.
    if (file !== "rate_sweep.csv") assert.ok(rows.length > 0, `${file} of the example run has no rows`);
    const again = parseCsv(toCsv(rows as CsvRow[], columns), schema);
    assert.deepEqual(JSON.parse(JSON.stringify(again)), JSON.parse(JSON.stringify(rows)));
  });
}
