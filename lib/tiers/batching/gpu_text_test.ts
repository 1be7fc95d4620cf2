import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { batchingFindings } from "./analyze.ts";
import { BATCHING_PRESETS } from "./params.ts";
import type { BatchingPointRow, BatchingRequestRow } from "./point_row.ts";
import { batchingObservations } from "./writeup.ts";

const P = { ...BATCHING_PRESETS.test, ci_resamples: 50 };
const C = [1, 2, 4, 8];
const points: BatchingPointRow[] = C.map((c) => ({
  point_id: `c${c}-r1`,
  sweep: "concurrency",
  repeat: 1,
  concurrency: c,
  latency_from: "send",
  requests_sent: 10,
  requests_ok: 10,
  requests_failed: 0,
  throughput_rps: 100 * c / (c + 2),
  inflight_mean: c,
  little_inflight: c,
  server_samples: 2,
  valid: true,
}));
const requests: BatchingRequestRow[] = C.flatMap((c) =>
  Array.from({ length: 10 }, (_, i) => ({
    ...requestCells(),
    point_id: `c${c}-r1`,
    sweep: "concurrency" as const,
    repeat: 1,
    part: "measure" as const,
    ok: true,
    ttft_ms: 20 + c + i,
    tpot_ms: 3 + c / 4,
    e2e_ms: 100 + c,
    queue_delay_ms: 0,
    itl_gaps_ms: "3 3 3",
  }))
);

Deno.test("the batching curve is explained by GPU weight passes only where a GPU is known to serve it", () => {
  const F = batchingFindings(points, requests, P);
  const withGpu = batchingObservations(F).join("\n");
  assert.match(withGpu, /one pass over the weights/);
  const noGpu = batchingObservations(F, { gpu_known: false }).join("\n");
  assert.doesNotMatch(noGpu, /weights|GPU's compute/);
  assert.match(noGpu, /saw no GPU behind this server/);
  assert.match(noGpu, /From c=1 to c=/, "the measured numbers are still stated");
});
