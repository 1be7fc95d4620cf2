import assert from "node:assert/strict";
import { csvBoolean } from "../run/csv.ts";
import type { SelfCheck } from "./load.ts";
import { SELF_CHECK_COLUMNS, selfCheckCells } from "./self_check.ts";

const ok: SelfCheck = {
  event_loop_lag: { n: 100, p50_ms: 0.2, p99_ms: 1.23456, max_ms: 2 },
  send_lag: { n: 10, p50_ms: 0.1, p99_ms: 0.5, max_ms: 0.6 },
  dispatch_lag: { n: 10, p50_ms: 0.1, p99_ms: 0.4, max_ms: 0.6 },
  max_in_flight: 4,
  threshold_p99_ms: 5,
  client_ok: true,
};
const slow: SelfCheck = {
  ...ok,
  event_loop_lag: { n: 100, p50_ms: 3, p99_ms: 42, max_ms: 80 },
  client_ok: false,
  reason: "Client too slow for this point: event-loop lag p99 42.0 ms exceed 5 ms (max_lag_p99_ms); ...",
};

Deno.test("a healthy self-check gives client_ok true and its lags rounded to microseconds", () => {
  const c = selfCheckCells(ok);
  assert.equal(c.client_ok, true);
  assert.equal(c.event_loop_lag_p99_ms, 1.235);
  assert.equal(c.send_lag_p99_ms, 0.5);
  assert.equal(c.client_reason, undefined);
  assert.deepEqual(Object.keys(c).sort(), [...SELF_CHECK_COLUMNS].sort());
});

Deno.test("one forced-invalid load makes the whole point invalid, with its reason and the worst lag", () => {
  const c = selfCheckCells([ok, slow]);
  assert.equal(c.client_ok, false);
  assert.equal(c.event_loop_lag_p99_ms, 42);
  assert.match(c.client_reason!, /event-loop lag p99 42/);
  // The cell survives the CSV round trip as the tiers read it back.
  assert.equal(csvBoolean.parse(String(c.client_ok)), false);
});

Deno.test("lags without samples are undefined (not applicable), never 0", () => {
  const c = selfCheckCells({ ...ok, send_lag: { n: 0 }, dispatch_lag: { n: 0 } });
  assert.equal(c.send_lag_p99_ms, undefined);
  assert.equal(c.dispatch_lag_p99_ms, undefined);
});

Deno.test("zero self-checks is an error naming the fix", () => {
  assert.throws(() => selfCheckCells([]), /at least one load/);
});
