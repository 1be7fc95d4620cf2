// The teaching size (issue 17): SERVELAB_SIZE=teach is a run size next to default and test; every tier has
// a teach preset of its own, no larger than its default, and a spec without one falls back to its test preset.
import assert from "node:assert/strict";
import { z } from "zod";
import { labEnv } from "./lab_env.ts";
import { tierParams } from "./params.ts";
import { TIERS } from "./mod.ts";
import { TTFT_PRESETS } from "./ttft/params.ts";
import { PREFIX_PRESETS } from "./prefix/params.ts";
import { KV_PRESETS } from "./kv/params.ts";
import { BATCHING_PRESETS } from "./batching/params.ts";

Deno.test("SERVELAB_SIZE=teach is a run size; a bad size names the three", () => {
  assert.equal(labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "teach" }).size, "teach");
  assert.throws(
    () => labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "tiny" }),
    /SERVELAB_SIZE='tiny' is not valid: .*"default"\|"test"\|"teach"/,
  );
});

Deno.test("every tier reads its own teach preset (not the test one) through its params", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "teach" });
  const presets: Record<string, object> = {
    ttft: TTFT_PRESETS.teach,
    prefix: PREFIX_PRESETS.teach,
    kv: KV_PRESETS.teach,
    batching: BATCHING_PRESETS.teach,
  };
  for (const t of TIERS) {
    const p = t.params(lab, {}) as Record<string, unknown>;
    const preset = presets[t.key] as Record<string, unknown>;
    assert.ok(preset, `${t.key} has a teach preset`);
    for (const [k, v] of Object.entries(preset)) assert.deepEqual(p[k], v, `${t.key}.${k}`);
  }
  // Teach is small: never more engines, points or requests than the lesson's default.
  assert.ok(TTFT_PRESETS.teach.warm_requests <= TTFT_PRESETS.default.warm_requests);
  assert.ok(TTFT_PRESETS.teach.idle_s < TTFT_PRESETS.default.idle_s);
  assert.ok(KV_PRESETS.teach.lens.length < KV_PRESETS.default.lens.length);
  assert.ok(BATCHING_PRESETS.teach.concurrency.length < BATCHING_PRESETS.default.concurrency.length);
  assert.ok(BATCHING_PRESETS.teach.repeats < BATCHING_PRESETS.default.repeats);
  // The batching timeline needs a gauge finer than the default's 100 ms samples.
  assert.ok(BATCHING_PRESETS.teach.sample_ms < BATCHING_PRESETS.default.sample_ms);
});

Deno.test("a tier spec without a teach preset uses its test preset at the teach size", () => {
  const spec = {
    tier: "toy",
    schema: z.object({ n: z.number().int() }),
    presets: { default: { n: 30 }, test: { n: 3 } },
    vars: { n: { means: "requests, an integer (e.g. 3)" } },
  };
  assert.equal(tierParams(spec, "teach", {}).n, 3);
  assert.equal(tierParams(spec, "teach", { SERVELAB_TOY_N: "5" }).n, 5);
  assert.equal(tierParams({ ...spec, presets: { ...spec.presets, teach: { n: 7 } } }, "teach", {}).n, 7);
});
