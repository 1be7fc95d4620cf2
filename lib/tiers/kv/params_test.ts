import assert from "node:assert/strict";
import { KV_ENV_VARS, KV_PRESETS, KV_VARS, kvParams } from "./params.ts";

Deno.test("kvParams takes the preset of the run size, util_len defaulting to the load length", () => {
  const d = kvParams({ size: "default" }, {});
  assert.deepEqual(d.lens, [1024, 2048, 4096, 8192, 16384, 32768]);
  assert.equal(d.util_len, d.load_len);
  assert.deepEqual(d.question, { concurrent: 8, tokens_per_request: 4096 });
  const t = kvParams({ size: "test" }, {});
  assert.ok(t.lens.length < d.lens.length, "the test sweep is smaller");
  assert.deepEqual(t.utils, KV_PRESETS.test.utils);
});

Deno.test("SERVELAB_KV_* variables override the preset: k suffixes, none, default, auto/off, NxL", () => {
  const p = kvParams({ size: "default" }, {
    SERVELAB_KV_LENS: "8k, 1k,2048,1k",
    SERVELAB_KV_UTILS: "none",
    SERVELAB_KV_FAIL_UTIL: "0.05",
    SERVELAB_KV_LOAD_POOL: "default",
    SERVELAB_KV_LOAD_LEN: "2k",
    SERVELAB_KV_QUESTION: "16x2k",
  });
  assert.deepEqual(p.lens, [1024, 2048, 8192], "sorted, deduplicated, k = 1024");
  assert.deepEqual(p.utils, []);
  assert.equal(p.fail_util, 0.05);
  assert.equal(p.load_pool, "default");
  assert.equal(p.load_len, 2048);
  assert.equal(p.util_len, 2048);
  assert.deepEqual(p.question, { concurrent: 16, tokens_per_request: 2048 });
  assert.equal(kvParams({ size: "test" }, { SERVELAB_KV_FAIL_UTIL: "off" }).fail_util, "off");
});

Deno.test("a bad value names the variable, its meaning and the fix", () => {
  assert.throws(
    () => kvParams({ size: "default" }, { SERVELAB_KV_LENS: "4k,lots" }),
    /SERVELAB_KV_LENS='4k,lots' is not valid: item 2: expected a token count.*It takes max-model-len values.*Fix it or unset it/,
  );
  assert.throws(
    () => kvParams({ size: "default" }, { SERVELAB_KV_UTILS: "0.5,1.5" }),
    /SERVELAB_KV_UTILS=.*\(0, 1\]/,
  );
  assert.throws(
    () => kvParams({ size: "default" }, { SERVELAB_KV_QUESTION: "8 chats" }),
    /SERVELAB_KV_QUESTION=.*NxL/,
  );
  assert.throws(() => kvParams({ size: "default" }, { SERVELAB_KV_LENS: "4096" }), /at least two lengths/);
  assert.throws(
    () => kvParams({ size: "default" }, { SERVELAB_KV_LOAD_LEN: "64", SERVELAB_KV_LOAD_OUTPUT_TOKENS: "64" }),
    /load_output_tokens \(64\) must be below load_len \(64\)/,
  );
});

Deno.test("every SERVELAB_KV_* variable sets its field and keeps its meaning; all bad ones are reported", () => {
  assert.deepEqual(KV_VARS.map((v) => v.name), Object.keys(KV_ENV_VARS));
  for (const v of KV_VARS) {
    assert.equal(v.means, KV_ENV_VARS[v.name as keyof typeof KV_ENV_VARS]);
    assert.equal(v.name, `SERVELAB_KV_${v.field.toUpperCase()}`);
  }
  const lines = (() => {
    try {
      kvParams({ size: "test" }, {
        SERVELAB_KV_FAIL_UTIL: "2",
        SERVELAB_KV_QUESTION: "8x0",
        SERVELAB_KV_UTIL_LEN: "1m",
      });
    } catch (e) {
      return (e as Error).message.split("\n");
    }
    assert.fail("expected an error");
  })();
  assert.equal(lines.length, 3);
  assert.match(
    lines[0],
    /^SERVELAB_KV_UTIL_LEN='1m' is not valid: expected a token count such as 4096 or 4k\./,
  );
  assert.match(lines[1], /^SERVELAB_KV_FAIL_UTIL='2' is not valid: .*expected a fraction in \(0, 1\]/);
  assert.match(
    lines[2],
    /^SERVELAB_KV_QUESTION='8x0' is not valid: tokens_per_request: .*It takes the capacity question/,
  );
  assert.equal(kvParams({ size: "test" }, { SERVELAB_KV_FAIL_UTIL: " AUTO " }).fail_util, "auto");
  assert.equal(kvParams({ size: "test" }, { SERVELAB_KV_UTIL_LEN: "8k" }).util_len, 8192);
});

Deno.test("a load step's client-lag limit is the lab's 15 ms (as in Tiers 1 and 3b), set by SERVELAB_KV_MAX_CLIENT_LAG_MS", () => {
  for (const size of ["default", "test", "teach"] as const) {
    assert.equal(kvParams({ size }, {}).max_client_lag_ms, 15);
  }
  assert.equal(kvParams({ size: "test" }, { SERVELAB_KV_MAX_CLIENT_LAG_MS: "7.5" }).max_client_lag_ms, 7.5);
  assert.throws(
    () => kvParams({ size: "test" }, { SERVELAB_KV_MAX_CLIENT_LAG_MS: "0" }),
    /SERVELAB_KV_MAX_CLIENT_LAG_MS='0'/,
  );
});
