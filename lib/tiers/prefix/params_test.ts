import assert from "node:assert/strict";
import { labEnv } from "../lab_env.ts";
import { PREFIX_PRESETS, prefixParams } from "./params.ts";

const lab = (size: string, engine = "sim") => labEnv({ SERVELAB_ENGINE: engine, SERVELAB_SIZE: size });

Deno.test("presets follow the run size and the issue's defaults", () => {
  const d = prefixParams(lab("default"), {});
  assert.deepEqual(d.concurrency, [1, 4, 16]);
  assert.deepEqual(d.shares_pct, [0, 25, 50, 75, 100]);
  assert.equal(Math.min(...d.prefix_tokens), 256);
  assert.equal(Math.max(...d.prefix_tokens), 8192);
  const t = prefixParams(lab("test"), {});
  assert.ok(Math.max(...t.concurrency) < 16 && t.prefix_tokens.length < d.prefix_tokens.length);
  assert.equal(t.requests, PREFIX_PRESETS.test.requests);
});

Deno.test("interleaving defaults to parallel on the sim and one engine at a time on vLLM", () => {
  assert.equal(prefixParams(lab("test"), {}).interleave, "parallel");
  assert.equal(prefixParams(lab("test", "vllm"), {}).interleave, "by_point");
  assert.equal(
    prefixParams(lab("test", "vllm"), { SERVELAB_PREFIX_INTERLEAVE: "parallel" }).interleave,
    "parallel",
  );
});

Deno.test("environment variables override the preset", () => {
  const p = prefixParams(lab("default"), {
    SERVELAB_PREFIX_CONCURRENCY: "1, 2",
    SERVELAB_PREFIX_LENGTHS: "512,4096",
    SERVELAB_PREFIX_SUB_BLOCK: "false",
    SERVELAB_PREFIX_CLIFF_LOAD: "0.5,3",
    SERVELAB_PREFIX_OUTPUT_TOKENS: "32",
    SERVELAB_PREFIX_FAMILY: "serving-runbook",
    SERVELAB_PREFIX_SHARES: "",
  });
  assert.deepEqual(p.concurrency, [1, 2]);
  assert.deepEqual(p.prefix_tokens, [512, 4096]);
  assert.equal(p.sub_block_point, false);
  assert.deepEqual(p.cliff_load, [0.5, 3]);
  assert.equal(p.output_tokens, 32);
  assert.equal(p.family, "serving-runbook");
  assert.deepEqual(p.shares_pct, [0, 25, 50, 75, 100], "an empty variable is unset");
});

Deno.test("a bad value names the variable and the form it takes", () => {
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_CONCURRENCY: "1,x" }),
    /SERVELAB_PREFIX_CONCURRENCY='1,x' is not valid: .*comma-separated positive integers/,
  );
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_SHARES: "50,150" }),
    /SERVELAB_PREFIX_SHARES.*0\.\.100/,
  );
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_INTERLEAVE: "both" }),
    /SERVELAB_PREFIX_INTERLEAVE.*by_point/,
  );
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_SUB_BLOCK: "yes" }),
    /SERVELAB_PREFIX_SUB_BLOCK.*true or false/,
  );
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_REQUESTS: "0" }),
    /SERVELAB_PREFIX_REQUESTS/,
  );
});

Deno.test("a list variable of only commas is the empty list: ',' turns the share and cliff sweeps off", () => {
  const p = prefixParams(lab("test"), { SERVELAB_PREFIX_SHARES: ",", SERVELAB_PREFIX_CLIFF_LOAD: " , " });
  assert.deepEqual([p.shares_pct, p.cliff_load], [[], []]);
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_CONCURRENCY: "," }),
    /SERVELAB_PREFIX_CONCURRENCY=',' is not valid: Too small: .*Fix it or unset it\./,
  );
});

Deno.test("a run's client-lag limit is the lab's 15 ms (as in Tiers 1 and 3b), set by SERVELAB_PREFIX_MAX_CLIENT_LAG_MS", () => {
  for (const size of ["default", "test", "teach"]) {
    assert.equal(prefixParams(lab(size), {}).max_client_lag_ms, 15);
  }
  assert.equal(prefixParams(lab("test"), { SERVELAB_PREFIX_MAX_CLIENT_LAG_MS: "5" }).max_client_lag_ms, 5);
  assert.throws(
    () => prefixParams(lab("test"), { SERVELAB_PREFIX_MAX_CLIENT_LAG_MS: "-1" }),
    /SERVELAB_PREFIX_MAX_CLIENT_LAG_MS='-1' is not valid/,
  );
});
