/**
 * Reads a run's batching CSVs back, validated by their zod schemas (a file from another version or a
 * different table fails with the file and line).
 * @module
 */
import { join } from "node:path";
import { readCsv } from "../../run/csv.ts";
import type { Run } from "../../run/run_dir.ts";
import { BATCHING_FILES } from "./measure.ts";
import { BatchingPointRow, BatchingRequestRow, BatchingServerRow } from "./point_row.ts";

/** The rows of a run's batching CSVs. */
export interface BatchingResults {
  /** concurrency_sweep.csv then rate_sweep.csv. */
  points: BatchingPointRow[];
  requests: BatchingRequestRow[];
  server: BatchingServerRow[];
}

/**
 * Reads concurrency_sweep.csv, rate_sweep.csv, batching_requests.csv and batching_server.csv of a run.
 *
 * @example
 * ```ts
 * const R = await readBatchingResults(run);
 * const F = batchingFindings(R.points, R.requests, P);
 * ```
 */
export async function readBatchingResults(run: Pick<Run, "dir">): Promise<BatchingResults> {
  const path = (f: string) => join(run.dir, f);
  return {
    points: [
      ...await readCsv(path(BATCHING_FILES.concurrency), BatchingPointRow),
      ...await readCsv(path(BATCHING_FILES.rate), BatchingPointRow),
    ],
    requests: await readCsv(path(BATCHING_FILES.requests), BatchingRequestRow),
    server: await readCsv(path(BATCHING_FILES.server), BatchingServerRow),
  };
}
