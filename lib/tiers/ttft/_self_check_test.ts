import assert from "node:assert/strict";
import { createClock } from "../../probe/clock.ts";
import { selfCheckCells } from "../../probe/self_check.ts";
import type { RequestRecord } from "../../probe/types.ts";
import { monitorClient } from "./_self_check.ts";

/** A record with only the send stamps set (the self-check reads nothing else). */
const sent = (t_intended_ms: number, t_send_ms: number) => ({ t_intended_ms, t_send_ms }) as RequestRecord;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* block the event loop */ }
}

Deno.test("a client whose event loop is blocked fails the self-check with the lag in the reason", async () => {
  const clock = createClock();
  using monitor = monitorClient(clock, {
    max_lag_p99_ms: 15,
    threshold_name: "SERVELAB_TTFT_MAX_CLIENT_LAG_MS",
  });
  for (let i = 0; i < 4; i++) {
    await sleep(5);
    busy(60);
  }
  const check = monitor.finish([sent(0, 0.1)]);
  assert.equal(check.client_ok, false);
  assert.ok(check.event_loop_lag.p99_ms! >= 40, `lag p99 ${check.event_loop_lag.p99_ms} ms`);
  assert.match(check.reason!, /^Client too slow for this point: event-loop lag p99 \d+\.\d ms exceed 15 ms/);
  assert.match(check.reason!, /SERVELAB_TTFT_MAX_CLIENT_LAG_MS/);
  const cells = selfCheckCells(check);
  assert.equal(cells.client_ok, false);
  assert.equal(cells.client_reason, check.reason);
});

Deno.test("a request sent long after it was due fails the self-check on send lag; prompt sends pass", async () => {
  const clock = createClock();
  {
    using monitor = monitorClient(clock, { max_lag_p99_ms: 1_000 });
    await sleep(30);
    const check = monitor.finish([sent(0, 0.2), sent(10, 10.1), sent(20, 20.3)]);
    assert.equal(check.client_ok, true, check.reason);
    assert.equal(check.reason, undefined);
    assert.equal(check.send_lag.n, 3);
    assert.ok(Math.abs(check.send_lag.max_ms! - 0.3) < 1e-9);
    assert.ok(check.event_loop_lag.n > 0, "the event loop was sampled");
    assert.equal(check.max_in_flight, 1);
  }
  using monitor = monitorClient(clock, { max_lag_p99_ms: 1_000 });
  const check = monitor.finish([sent(0, 0.2), sent(10, 1_510)]);
  assert.equal(check.client_ok, false);
  assert.match(check.reason!, /send lag p99 \d+\.\d ms exceed 1000 ms/);
  assert.doesNotMatch(check.reason!, /event-loop/);
});
