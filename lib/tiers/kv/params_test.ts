import assert from "node:assert/strict";
import { KV_PRESETS, kvParams } from "./params.ts";

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
    /SERVELAB_KV_LENS='4k,lots' is not valid: 'lots': expected a token count.*It means: max-model-len values.*Fix it or unset it/,
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
