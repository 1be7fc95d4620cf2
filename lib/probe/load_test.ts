import assert from "node:assert/strict";
import { createClock } from "./clock.ts";
import { runLoad } from "./load.ts";
import { arrivalSchedule } from "./schedule.ts";
import { dialServer } from "./testing/dial_server.ts";
import type { ProbeRequest, RequestRecord } from "./types.ts";

const req: ProbeRequest = { endpoint: "completions", model: "dial-model", prompt: "hi", max_tokens: 3 };

Deno.test("closed loop keeps exactly n in flight and marks warm-up records", async () => {
  const clock = createClock();
  await using srv = await dialServer({ ttft_ms: 15, itl_ms: 3, tokens: 3, clock });
  const seen: number[] = [];
  const { records, self_check, start_ms } = await runLoad(srv.baseUrl, () => req, {
    kind: "concurrency",
    n: 4,
  }, {
    count: 16,
    warmup: 4,
    clock,
    request_id_prefix: "cl",
    on_record: (r) => void seen.push(r.index!),
  });
  assert.equal(records.length, 20);
  assert.deepEqual(records.map((r) => r.index), [...Array(20).keys()]);
  assert.ok(records.every((r) => r.ok), records.find((r) => !r.ok)?.error_message);
  assert.deepEqual(records.map((r) => r.phase), [...Array(4).fill("warmup"), ...Array(16).fill("measure")]);
  assert.deepEqual([...seen].sort((a, b) => a - b), [...Array(20).keys()], "on_record saw every record");
  assert.equal(srv.max_in_flight, 4, "the server never saw more than n at once");
  assert.equal(self_check.max_in_flight, 4);
  assert.equal(self_check.target_rps, undefined, "no rate in closed loop");
  assert.ok(srv.truth("cl-19"), "request ids are prefix-index");
  // The first n go at the start; every later request was intended when an earlier one had ended.
  const later = records.filter((r) => r.t_intended_ms > start_ms).map((r) => r.t_intended_ms).sort((a, b) =>
    a - b
  );
  assert.equal(later.length, 16);
  const ends = records.map((r) => r.t_end_ms).sort((a, b) => a - b);
  later.forEach((t, k) =>
    assert.ok(t >= ends[k], `request ${k + 4} intended before ${k + 1} requests had ended`)
  );
});

Deno.test("a ProbeRequest array is used once each: warm-up first, then the measured ones", async () => {
  await using srv = await dialServer({ tokens: 1 });
  const reqs = [0, 1, 2, 3, 4].map((i): ProbeRequest => ({ ...req, tags: { i } }));
  const { records } = await runLoad(srv.baseUrl, reqs, { kind: "concurrency", n: 2 }, { warmup: 2 });
  assert.deepEqual(records.map((r) => r.tags?.i), [0, 1, 2, 3, 4]);
  assert.deepEqual(records.map((r) => r.phase), ["warmup", "warmup", "measure", "measure", "measure"]);
});

Deno.test("a duration-bounded closed loop sends nothing after the duration", async () => {
  const clock = createClock();
  await using srv = await dialServer({ ttft_ms: 20, tokens: 1, clock });
  const { records, start_ms } = await runLoad(srv.baseUrl, () => req, { kind: "concurrency", n: 2 }, {
    duration_s: 0.25,
    clock,
  });
  assert.ok(records.length >= 6, `only ${records.length} requests in 250 ms of 20 ms requests at n=2`);
  assert.ok(records.every((r) => r.t_send_ms < start_ms + 250 + 5));
});

Deno.test("open loop sends on the seeded schedule and achieves the rate", async () => {
  const clock = createClock();
  await using srv = await dialServer({ ttft_ms: 5, tokens: 2, itl_ms: 2, clock });
  const shape = { kind: "rate" as const, rps: 50, burstiness: 1 };
  const { records, self_check, start_ms } = await runLoad(srv.baseUrl, () => req, shape, {
    count: 30,
    warmup: 5,
    seed: 42,
    clock,
  });
  assert.equal(records.length, 35);
  const schedule = arrivalSchedule(shape, { count: 35, seed: 42 });
  records.forEach((r, i) =>
    assert.equal(r.t_intended_ms, start_ms + schedule[i], "intended = start + schedule")
  );
  records.forEach((r) => assert.ok(r.t_send_ms >= r.t_intended_ms, "never sent early"));
  assert.equal(self_check.target_rps, 50);
  // 35 requests over 0.7 s: the last send is on time to within the timer's lateness.
  assert.ok(Math.abs(self_check.achieved_rps! / 50 - 1) < 0.05, `achieved ${self_check.achieved_rps} req/s`);
  assert.ok(self_check.event_loop_lag.n > 10, "the event loop was sampled during the run");
});

Deno.test("when the open-loop cap binds, the wait shows as queue delay, not hidden", async () => {
  const clock = createClock();
  await using srv = await dialServer({ ttft_ms: 40, tokens: 1, clock });
  const { records, self_check } = await runLoad(
    srv.baseUrl,
    () => req,
    { kind: "rate", rps: 200, burstiness: "constant", max_concurrency: 2 },
    { count: 12, clock },
  );
  assert.equal(srv.max_in_flight, 2);
  const delay = (r: RequestRecord) => r.t_send_ms - r.t_intended_ms;
  // 12 requests of >= 40 ms, 2 at a time, all intended within 60 ms: the last waits >= 5 x 40 - 60 ms.
  assert.ok(delay(records[11]) >= 140, `last queue delay ${delay(records[11])} ms`);
  assert.ok(self_check.send_lag.max_ms! >= 140);
  assert.ok(
    self_check.dispatch_lag.p50_ms! < self_check.send_lag.p50_ms!,
    "dispatch lag counts from the free slot, not from the schedule",
  );
});

Deno.test("aborting a run returns the records so far, in-flight ones marked aborted", async () => {
  await using srv = await dialServer({ ttft_ms: 5_000, tokens: 1 });
  const { records } = await runLoad(srv.baseUrl, () => req, { kind: "concurrency", n: 3 }, {
    count: 10,
    signal: AbortSignal.timeout(100),
  });
  assert.equal(records.length, 3);
  assert.ok(records.every((r) => r.error_kind === "aborted"));
});

Deno.test("a throwing on_record stops the run and is rethrown; bad options are refused", async () => {
  await using srv = await dialServer({ tokens: 1 });
  await assert.rejects(
    runLoad(srv.baseUrl, () => req, { kind: "concurrency", n: 1 }, {
      count: 5,
      on_record: () => {
        throw new Error("disk full");
      },
    }),
    /on_record threw: Error: disk full/,
  );
  assert.ok(srv.truths().length < 5, "no new requests after the failure");
  await assert.rejects(
    runLoad(srv.baseUrl, () => req, { kind: "concurrency", n: 0 }, { count: 1 }),
    /is invalid/,
  );
  await assert.rejects(
    runLoad(srv.baseUrl, () => req, { kind: "rate", rps: -1 }, { count: 1 }),
    /is invalid/,
  );
  await assert.rejects(
    runLoad(srv.baseUrl, () => req, { kind: "concurrency", n: 1 }),
    /give count or duration_s/,
  );
  await assert.rejects(runLoad(srv.baseUrl, [], { kind: "concurrency", n: 1 }), /empty request array/);
});
