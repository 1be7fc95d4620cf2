import assert from "node:assert/strict";
import { groupMembers } from "../../engine/process_group.ts";
import { labEnv } from "../lab_env.ts";
import { PrefixEngines, prefixServeConfig } from "./engines.ts";

Deno.test("the prefix tier's engines: a crashed one is reported, skipped for tokenizing, and replaced on next use", async () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" });
  await using engines = new PrefixEngines({ exclusive: false });
  const off = await engines.get("off", prefixServeConfig(lab, "off"));
  const on = await engines.get("on", prefixServeConfig(lab, "on"));
  assert.equal(await engines.get("off", prefixServeConfig(lab, "off")), off, "a live engine is reused");
  assert.deepEqual(await engines.exited(), []);

  Deno.kill(on.engine.pid!, "SIGKILL"); // the engine dies, as in a crash during a point
  assert.deepEqual(await engines.exited(2_000), ["on"], "the point's check sees it");
  assert.equal(engines.any(), off, "tokenizing goes to an engine that runs");

  const again = await engines.get("on", prefixServeConfig(lab, "on"));
  assert.notEqual(again.engine.pid, on.engine.pid, "the next point gets a new engine");
  assert.equal(engines.launches, 3);
  assert.deepEqual(groupMembers(on.engine.pid!), [], "the dead engine's group was cleaned up");
  assert.deepEqual(await engines.exited(), []);
  const health = await fetch(`${again.engine.baseUrl}/health`);
  await health.body?.cancel();
  assert.equal(health.status, 200);
});
