import assert from "node:assert/strict";
import { TTFT_ENV_VARS, TTFT_PRESETS, ttftParams } from "./params.ts";

Deno.test("the test preset is smaller than the default one on every count", () => {
  const d = TTFT_PRESETS.default, t = TTFT_PRESETS.test;
  assert.ok(t.cold_launches <= d.cold_launches && t.warm_requests < d.warm_requests);
  assert.ok(t.lengths.length < d.lengths.length && t.idle_s < d.idle_s);
  assert.equal(d.warm_requests, 30, "the issue's default N");
  assert.deepEqual(ttftParams("test", {}), t);
});

Deno.test("SERVELAB_TTFT_* variables override the preset", () => {
  const p = ttftParams("default", {
    SERVELAB_TTFT_WARM_REQUESTS: "50",
    SERVELAB_TTFT_LENGTHS: "256, 1024,8192",
    SERVELAB_TTFT_IDLE_S: "2.5",
    SERVELAB_TTFT_MAX_CLIENT_LAG_MS: "7.5",
  });
  assert.equal(p.max_client_lag_ms, 7.5);
  assert.equal(p.warm_requests, 50);
  assert.deepEqual(p.lengths, [256, 1024, 8192]);
  assert.equal(p.idle_s, 2.5);
  assert.equal(p.cold_launches, TTFT_PRESETS.default.cold_launches);
});

Deno.test("a bad value names the variable, its value, what it means and the fix", () => {
  assert.throws(
    () => ttftParams("test", { SERVELAB_TTFT_WARM_REQUESTS: "lots" }),
    /SERVELAB_TTFT_WARM_REQUESTS='lots' is not valid: expected a number\. It takes warm requests .*Fix it or unset it\./,
  );
  assert.throws(
    () => ttftParams("test", { SERVELAB_TTFT_COLD_LAUNCHES: "0" }),
    /SERVELAB_TTFT_COLD_LAUNCHES='0'/,
  );
  assert.throws(() => ttftParams("test", { SERVELAB_TTFT_LENGTHS: "512" }), /needs at least two lengths/);
  assert.throws(() => ttftParams("test", { SERVELAB_TTFT_MAX_CLIENT_LAG_MS: "0" }), /expected ms > 0/);
  assert.throws(
    () => ttftParams("test", { SERVELAB_TTFT_WARM_REQUESTS: "1.5" }),
    /is not valid: expected an integer\./,
  );
  assert.equal(
    Object.keys(TTFT_ENV_VARS).length,
    Object.keys(TTFT_PRESETS.test).length,
    "one variable per field",
  );
});
