import assert from "node:assert/strict";
import { growthCheck, parseSoakArgs, rssMib } from "./soak.ts";

/** A 10-minute series, one sample per 5 s: `mib(t_s)` plus a deterministic wobble of +-2 MiB. */
function series(mib: (t_s: number) => number) {
  return Array.from({ length: 121 }, (_, i) => ({ t_s: i * 5, mib: mib(i * 5) + 2 * Math.sin(i * 1.7) }));
}

Deno.test("the growth check calls a warm-up that plateaus and a GC sawtooth flat, a rising floor growing", () => {
  // Rises 60 MiB in the first 2 minutes (JIT, pools, a bounded store filling), then holds.
  const plateau = growthCheck(series((t) => 100 + 60 * Math.min(1, t / 120)));
  assert.equal(plateau?.verdict, "flat");
  assert.ok(Math.abs(plateau!.slope_mib_per_min) < 0.3, `slope ${plateau!.slope_mib_per_min}`);
  // 1 MiB a minute for ever: 60 MiB an hour on ~200 MiB, over the 20 MiB/h threshold.
  const leak = growthCheck(series((t) => 200 + t / 60));
  assert.equal(leak?.verdict, "growing");
  assert.ok(Math.abs(leak!.slope_mib_per_min - 1) < 0.3, `slope ${leak!.slope_mib_per_min}`);
  assert.equal(leak!.threshold_mib_per_hour, Math.max(16, 0.1 * leak!.median_mib));
  // The same climb judged from 3 minutes of samples: too short to tell from warm-up; from 1 minute, no fit.
  assert.equal(growthCheck(series((t) => 200 + t / 60).slice(0, 37))?.verdict, "too_short");
  assert.equal(growthCheck(series((t) => 200 + t / 60).slice(0, 13)), undefined);
  assert.equal(growthCheck([{ t_s: 0, mib: 1 }]), undefined);
  // A garbage-collected heap: a 0-40 MiB sawtooth every 40 s on a flat floor is no growth.
  assert.equal(growthCheck(series((t) => 150 + (t % 40)))?.verdict, "flat");
  // The same sawtooth on a floor that rises 1 MiB a minute is.
  assert.equal(growthCheck(series((t) => 150 + (t % 40) + t / 60))?.verdict, "growing");
});

Deno.test("soak options parse with their defaults and bad ones are refused with the option named", () => {
  const d = parseSoakArgs([]);
  assert.equal(d.minutes, 10);
  assert.equal(d.concurrency, undefined);
  const a = parseSoakArgs(["--minutes", "1", "--concurrency=16", "--http-500-rate", "0.01"]);
  assert.deepEqual([a.minutes, a.concurrency, a.http_500_rate], [1, 16, 0.01]);
  assert.throws(() => parseSoakArgs(["--minutes", "soon"]), /Invalid soak options.*minutes/s);
  assert.throws(() => parseSoakArgs(["--drop-rate", "2"]), /drop_rate/);
  assert.throws(() => parseSoakArgs(["--seconds", "3"]), /Unknown option '--seconds'/);
  assert.throws(() => parseSoakArgs(["--minutes"]), /needs a value/);
});

Deno.test("RSS is read from /proc for a live process and undefined for a gone one", () => {
  const mib = rssMib(Deno.pid);
  assert.ok(mib !== undefined && mib > 1, `own RSS ${mib}`);
  assert.equal(rssMib(2 ** 22 + 12345), undefined);
});
