// Engine readiness never follows a redirect off the host: an engine whose /health answers 307 to
// another host fails its start with the refusal, and is stopped.
import assert from "node:assert/strict";
import { parseServeConfig } from "./config.ts";
import { launch } from "./launch.ts";
import { groupMembers } from "./process_group.ts";

const FAKE = [Deno.execPath(), "run", "-A", new URL("./testdata/fake_vllm.ts", import.meta.url).pathname];

Deno.test("a /health that redirects off the host fails the engine's start with the refusal, and stops it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidFile = `${dir}/pids.json`;
    const cfg = parseServeConfig({
      engine: "vllm",
      model: "Qwen/Qwen2.5-1.5B-Instruct",
      max_model_len: 4096,
      env: { FAKE_VLLM_HEALTH_REDIRECT: "http://10.0.0.5:8000/health", FAKE_VLLM_PID_FILE: pidFile },
    });
    const t0 = performance.now();
    const err = await launch(cfg, { vllm_command: FAKE, log_dir: dir, grace_ms: 2_000, health_poll_ms: 50 })
      .then(() => undefined, (e: Error) => e);
    assert.ok(err instanceof Error, "the start fails");
    assert.match(
      err.message,
      /Refusing to follow a redirect \(307\) from http:\/\/127\.0\.0\.1:\d+\/health to http:\/\/10\.0\.0\.5:8000\/health/,
    );
    assert.ok(performance.now() - t0 < 20_000);
    const { pid } = JSON.parse(Deno.readTextFileSync(pidFile));
    assert.deepEqual(groupMembers(pid), [], "the engine's group is stopped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
