/**
 * Real-engine test of the `llamacpp` engine kind: llama.cpp's server launched through lib/engine's
 * `launch()` (as `./servelab run --engine llamacpp` does), pinned to a CPU set, restarted, and stopped with
 * nothing of its process group left. In the gate's opt-in `real` step (needs tools/real/llamacpp_install.sh).
 */
import assert from "node:assert/strict";
import { affinityOf, groupMembers, launch, parseServeConfig } from "../../lib/engine/mod.ts";
import { installLlamaServer, prepareTinyGguf, TINY_ALIAS } from "./llamacpp_serve.ts";

Deno.test("llamacpp engine kind: launch through lib/engine, startup report, CPU set, restart, nothing left after stop", async () => {
  const command = await installLlamaServer();
  const gguf = await prepareTinyGguf();
  const logDir = await Deno.makeTempDir({ prefix: "servelab-llamacpp-engine-" });
  const cfg = parseServeConfig({
    engine: "llamacpp",
    model: gguf,
    served_model_name: TINY_ALIAS,
    max_model_len: 2048,
    max_num_seqs: 2,
    cpus: "0",
  });
  const pids: number[] = [];
  for (const round of [1, 2]) {
    const engine = await launch(cfg, {
      llamacpp_command: command,
      log_dir: logDir,
      log_name: `round${round}`,
    });
    try {
      pids.push(engine.pid!);
      assert.equal(engine.kind, "llamacpp");
      assert.ok(engine.ready_s! > 0 && engine.ready_s! < 60, `ready in ${engine.ready_s} s`);
      const r = engine.startup!;
      assert.equal(r.server_up, true);
      assert.equal(r.max_model_len, 2048, "n_ctx_slot: -c 4096 over -np 2");
      assert.equal(r.max_concurrency, 2);
      assert.equal(r.kv_cache_tokens, 4096);
      assert.ok(r.available_kv_gib! > 0 && r.weights_gib! > 0);
      assert.match(r.version ?? "", /llama\.cpp/);
      assert.equal(affinityOf(engine.pid!), "0", "the group leader runs on the engine's set");
      const res = await fetch(`${engine.baseUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...engine.headers() },
        body: JSON.stringify({
          model: engine.model,
          prompt: "the cache is warm",
          max_tokens: 4,
          temperature: 0,
        }),
      });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).usage.completion_tokens, 4);
      assert.ok(groupMembers(engine.pid!).length >= 1);
    } finally {
      await engine.stop();
    }
    assert.deepEqual(
      groupMembers(pids[pids.length - 1]),
      [],
      `round ${round}: no process of the group is left`,
    );
  }
  assert.notEqual(pids[0], pids[1], "the restart is a new process group");
  await Deno.remove(logDir, { recursive: true });
});
