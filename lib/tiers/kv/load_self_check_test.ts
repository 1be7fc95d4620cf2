import assert from "node:assert/strict";
import type { SelfCheck } from "../../probe/load.ts";
import { parseCsv, toCsv } from "../../run/csv.ts";
import { kvSelfCheck } from "./load.ts";
import { KvLoadRow } from "./rows.ts";

const forcedInvalid: SelfCheck = {
  event_loop_lag: { n: 50, p50_ms: 4, p99_ms: 31.5, max_ms: 60 },
  send_lag: { n: 8, p50_ms: 1, p99_ms: 12.25, max_ms: 13 },
  dispatch_lag: { n: 8, p50_ms: 1, p99_ms: 2, max_ms: 3 },
  max_in_flight: 8,
  threshold_p99_ms: 5,
  client_ok: false,
  reason: "Client too slow for this point: event-loop lag p99 31.5 ms exceed 5 ms (max_lag_p99_ms).",
};

Deno.test("a forced-invalid self-check reaches kv_load_confirmation.csv's client_ok column as false", () => {
  const cells = kvSelfCheck(forcedInvalid);
  const columns = ["client_ok", "event_loop_lag_p99_ms", "send_lag_p99_ms", "client_reason"];
  const csv = toCsv([cells], columns);
  assert.match(csv.split("\n")[1], /^false,31\.5,12\.25,/);
  const Cells = KvLoadRow.pick({
    client_ok: true,
    event_loop_lag_p99_ms: true,
    send_lag_p99_ms: true,
    client_reason: true,
  });
  const [back] = parseCsv(csv, Cells);
  assert.equal(back.client_ok, false);
  assert.equal(back.event_loop_lag_p99_ms, 31.5);
  assert.match(back.client_reason!, /event-loop lag p99 31.5/);
});
