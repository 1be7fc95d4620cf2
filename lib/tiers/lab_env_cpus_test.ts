import assert from "node:assert/strict";
import { engineLabel, labEnv, serveConfigFor } from "./lab_env.ts";

Deno.test("SERVELAB_CPUS pins the engines the lab starts, and every page's engine label names the set", () => {
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_CPUS: "1,0" });
  assert.equal(lab.cpus, "0-1");
  const cfg = serveConfigFor(lab);
  assert.equal(cfg.cpus, "0-1");
  assert.match(
    engineLabel(cfg),
    /^SIMULATED: embedded engine, .*, engine on CPUs 0-1 \(client on the rest\)$/,
  );
  assert.equal(labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_CPUS: "off" }).cpus, undefined);
  assert.equal(labEnv({ SERVELAB_ENGINE: "sim" }).cpus, undefined, "no isolation unless asked");
  const ext = labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: "http://127.0.0.1:9", SERVELAB_CPUS: "0" });
  assert.equal(serveConfigFor(ext).cpus, undefined, "an external server is not the lab's to pin");
  assert.throws(
    () => labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_CPUS: "zero" }),
    /SERVELAB_CPUS='zero' is not valid/,
  );
});
