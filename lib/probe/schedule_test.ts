import assert from "node:assert/strict";
import { summarize } from "../base/stats.ts";
import { arrivalSchedule } from "./schedule.ts";

const gaps = (offsets: number[]) => offsets.map((t, i) => t - (i === 0 ? 0 : offsets[i - 1]));

Deno.test("an open-loop schedule is deterministic for a seed and changes with it", () => {
  const a = arrivalSchedule({ rps: 20 }, { count: 50, seed: 9 });
  assert.deepEqual(a, arrivalSchedule({ rps: 20 }, { count: 50, seed: 9 }));
  assert.notDeepEqual(a, arrivalSchedule({ rps: 20 }, { count: 50, seed: 10 }));
  assert.ok(a.every((t, i) => i === 0 || t >= a[i - 1]), "ascending");
});

Deno.test("a counted schedule ends at exactly count / rps (vLLM's normalization)", () => {
  const a = arrivalSchedule({ rps: 8, burstiness: 0.5 }, { count: 40, seed: 1 });
  assert.equal(a.length, 40);
  assert.ok(Math.abs(a[39] - 5000) < 1e-9, String(a[39]));
});

Deno.test("burstiness sets the spread of the gaps, not their mean", () => {
  const cv = (burstiness: number | "constant") => {
    const s = summarize(gaps(arrivalSchedule({ rps: 100, burstiness }, { duration_s: 200, seed: 5 })));
    // The sample mean of ~20 000 gaps is within 4 standard errors of 10 ms.
    const se = s.std! / Math.sqrt(s.n);
    assert.ok(Math.abs(s.mean! - 10) <= 4 * se + 1e-9, `burstiness ${burstiness}: mean gap ${s.mean} ms`);
    return { mean: s.mean!, cv: s.std! / s.mean! };
  };
  const poisson = cv(1), bursty = cv(0.25), regular = cv(16), constant = cv("constant");
  // Gamma(k) gaps have CV 1 / sqrt(k).
  assert.ok(Math.abs(poisson.cv - 1) < 0.05, String(poisson.cv));
  assert.ok(Math.abs(bursty.cv - 2) < 0.15, String(bursty.cv));
  assert.ok(Math.abs(regular.cv - 0.25) < 0.03, String(regular.cv));
  assert.ok(constant.cv < 1e-9);
});

Deno.test("a duration-bounded schedule stops at the duration", () => {
  const a = arrivalSchedule({ rps: 50 }, { duration_s: 2, seed: 3 });
  assert.ok(a.at(-1)! <= 2000);
  assert.ok(a.length > 70 && a.length < 130, String(a.length));
  const both = arrivalSchedule({ rps: 50 }, { count: 1000, duration_s: 2, seed: 3 });
  assert.ok(both.length < 1000 && both.at(-1)! <= 2000, "the first limit reached wins");
});

Deno.test("a schedule without a usable rate or limit is refused with the value", () => {
  assert.throws(() => arrivalSchedule({ rps: 0 }, { count: 1 }), /rps=0/);
  assert.throws(() => arrivalSchedule({ rps: 1, burstiness: -1 }, { count: 1 }), /burstiness=-1/);
  assert.throws(() => arrivalSchedule({ rps: 1 }, {}), /give count or duration_s/);
});
