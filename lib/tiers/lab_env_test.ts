import assert from "node:assert/strict";
import { DEFAULT_MODEL, engineLabel, labEnv, serveConfigFor } from "./lab_env.ts";
import { validationShort } from "../sim/validation.ts";

Deno.test("labEnv reads SERVELAB_* variables and fills defaults", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test", SERVELAB_SEED: "7" });
  assert.equal(lab.engine, "sim");
  assert.equal(lab.size, "test");
  assert.equal(lab.seed, 7);
  assert.equal(lab.model, DEFAULT_MODEL);
  assert.deepEqual(lab.engine_args, []);
});

Deno.test("labEnv names the bad variable, its meaning and the fix", () => {
  assert.throws(
    () => labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SEED: "abc" }),
    /SERVELAB_SEED='abc' is not valid.*Fix it or unset it/,
  );
  assert.throws(() => labEnv({ SERVELAB_ENGINE: "gpu" }), /SERVELAB_ENGINE='gpu'/);
  assert.throws(() => labEnv({ SERVELAB_ENGINE: "external" }), /needs SERVELAB_URL/);
  assert.throws(
    () => labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_STARTUP_TIME_SCALE: "2" }),
    /SERVELAB_STARTUP_TIME_SCALE/,
  );
});

Deno.test("serveConfigFor merges tier overrides with lab settings", () => {
  const lab = labEnv({
    SERVELAB_ENGINE: "sim",
    SERVELAB_SIM_GPU: "L4",
    SERVELAB_ENGINE_ARGS: "--swap-space 4",
  });
  const cfg = serveConfigFor(lab, { enable_prefix_caching: false, max_model_len: 2048, extra_args: ["--x"] });
  assert.equal(cfg.enable_prefix_caching, false);
  assert.equal(cfg.sim.gpu, "L4");
  assert.deepEqual(cfg.extra_args, ["--swap-space", "4", "--x"]);
  assert.match(engineLabel(cfg), /^SIMULATED: embedded engine, L4 profile/);
  assert.ok(engineLabel(cfg).includes(`L4 profile (${validationShort("L4")})`), engineLabel(cfg));
});

Deno.test("engineLabel says SIMULATED for an external server that reports the embedded engine's version", () => {
  const cfg = serveConfigFor(labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: "http://127.0.0.1:8000" }));
  assert.match(
    engineLabel(cfg, "0.11.0+servelab-sim.0.1.0"),
    /^SIMULATED: external server at http:\/\/127\.0\.0\.1:8000/,
  );
  assert.doesNotMatch(engineLabel(cfg, "0.11.0"), /SIMULATED/);
});
