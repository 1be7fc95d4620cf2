import assert from "node:assert/strict";
import { parseServeConfig } from "./config.ts";
import { EngineStartError, launch } from "./launch.ts";

const FAKE = [Deno.execPath(), "run", "-A", new URL("./testdata/fake_vllm.ts", import.meta.url).pathname];

Deno.test("a failed start is an EngineStartError carrying the parsed fit error, exit status and log", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "servelab-start-error-test-" });
  const cfg = parseServeConfig({
    engine: "vllm",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    max_model_len: 262144,
    env: { FAKE_VLLM_MODE: "exit_early", FAKE_VLLM_FIXTURE: "fit_error_old.log" },
  });
  const err = await launch(cfg, { vllm_command: FAKE, log_dir: dir, grace_ms: 2_000, health_poll_ms: 50 })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineStartError, "launch rejects with an EngineStartError");
  assert.match(err.message, /^Cannot start engine: process exited with code 1 /, "the message is unchanged");
  assert.equal(err.reason, "exited");
  assert.equal(err.exitStatus?.code, 1);
  assert.equal(err.report.fit_error?.max_model_len, 262144);
  assert.equal(err.report.fit_error?.estimated_max_model_len, 205728);
  assert.equal(err.report.fit_error?.available_gib, 48.66);
  assert.equal(err.report.server_up, false);
  assert.ok(err.logPath.startsWith(dir));
  assert.ok(err.logTail.some((l) => /Engine core initialization failed/.test(l)));
});

Deno.test("a start that times out is an EngineStartError with reason timeout", async () => {
  const cfg = parseServeConfig({
    engine: "vllm",
    model: "Qwen/Qwen2.5-1.5B-Instruct",
    env: { FAKE_VLLM_MODE: "never_healthy" },
  });
  const err = await launch(cfg, {
    vllm_command: FAKE,
    ready_timeout_ms: 1_000,
    grace_ms: 2_000,
    health_poll_ms: 50,
  })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineStartError);
  assert.equal(err.reason, "timeout");
  assert.equal(err.report.fit_error, undefined);
  assert.ok((err.report.kv_cache_tokens ?? 0) > 0, "the report holds what the log said before the timeout");
});
