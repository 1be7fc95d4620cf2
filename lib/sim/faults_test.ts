import assert from "node:assert/strict";
import { createFaults, seededRandom } from "./faults.ts";

Deno.test("seededRandom repeats for a seed and differs across seeds", () => {
  const a = seededRandom(1), b = seededRandom(1), c = seededRandom(2);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c()));
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

Deno.test("no fault flags inject nothing", () => {
  const f = createFaults({}, 0);
  assert.equal(f.none, true);
  for (let i = 0; i < 50; i++) assert.deepEqual(f.forRequest(16), { http_500: false });
  assert.equal(f.requestFinished(), false);
  assert.equal(f.slow_start_ms, 0);
});

Deno.test("http 500 rate is honoured and seeded", () => {
  const draw = (seed: number) => {
    const f = createFaults({ http_500_rate: 0.3 }, seed);
    return Array.from({ length: 2000 }, () => f.forRequest(16).http_500);
  };
  const a = draw(3);
  assert.deepEqual(a, draw(3));
  const rate = a.filter(Boolean).length / a.length;
  assert.ok(Math.abs(rate - 0.3) < 0.04, `rate ${rate}`);
});

Deno.test("dropped connections fall strictly inside the stream", () => {
  const f = createFaults({ drop_connection_rate: 1 }, 0);
  for (let i = 0; i < 200; i++) {
    const r = f.forRequest(10);
    assert.ok(r.drop_after_tokens! >= 1 && r.drop_after_tokens! <= 9, `${r.drop_after_tokens}`);
  }
  assert.equal(createFaults({ drop_connection_rate: 1 }, 0).forRequest(1).drop_after_tokens, 1);
});

Deno.test("crash fires when the Nth request finishes", () => {
  const f = createFaults({ crash_after_requests: 3 }, 0);
  assert.deepEqual([f.requestFinished(), f.requestFinished(), f.requestFinished()], [false, false, true]);
});

Deno.test("stall and slow start pass through", () => {
  const f = createFaults({ stall_after_tokens: 4, slow_start_s: 1.5 }, 0);
  assert.equal(f.forRequest(16).stall_after_tokens, 4);
  assert.equal(f.slow_start_ms, 1500);
  assert.equal(f.none, false);
});
