// The embedded engine is SIMULATED by identity: reached through --engine external, its /version names
// it, and the run's manifest, index and the notebooks' lab environment say SIMULATED.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeConfig } from "../../lib/engine/config.ts";
import { isEmbeddedEngine } from "../../lib/engine/identity.ts";
import { readManifest } from "../../lib/run/manifest.ts";
import { serveSim } from "../../lib/sim/server.ts";
import { engineLabel, labEnv } from "../../lib/tiers/lab_env.ts";
import { kvTitle } from "../../lib/tiers/kv/writeup.ts";
import { main } from "./run.ts";

Deno.test("the embedded engine reached with --engine external is labelled SIMULATED by its identity", async () => {
  await using srv = await serveSim(parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct" }), {
    port: 0,
  });
  const root = await Deno.makeTempDir();
  const notebooksDir = await Deno.makeTempDir();
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
  let code: number;
  try {
    code = await main(["--engine", "external", "--url", srv.url], { root, notebooksDir });
  } finally {
    [console.log, console.error] = [log, err];
  }
  try {
    assert.equal(code, 0, lines.join("\n"));
    assert.match(lines.join("\n"), /on external \(SIMULATED: the server is servelab's embedded engine\)/);
    const id = [...Deno.readDirSync(root)].find((e) => e.isDirectory)!.name;
    const m = await readManifest(join(root, id, "manifest.json"));
    assert.equal(m.engine.kind, "external");
    assert.ok(isEmbeddedEngine(m.engine.version), m.engine.version);
    const index = Deno.readTextFileSync(join(root, id, "index.html"));
    assert.match(index, /<title>[^<]*SIMULATED/);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(notebooksDir, { recursive: true });
  }
  // What the notebooks get: SERVELAB_SIMULATED=1 makes the lab environment, titles and labels say so.
  const lab = labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: srv.url, SERVELAB_SIMULATED: "1" });
  assert.equal(lab.simulated, true);
  assert.equal(labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: srv.url }).simulated, false);
  assert.equal(labEnv({ SERVELAB_ENGINE: "sim" }).simulated, true);
  assert.match(kvTitle(lab.engine, lab.simulated), /\(SIMULATED\)/);
  assert.doesNotMatch(kvTitle("external"), /SIMULATED/);
  const cfg = parseServeConfig({ engine: "external", model: "m", url: srv.url });
  assert.match(engineLabel(cfg, "0.11.0+servelab-sim.0.1.0"), /^SIMULATED: external server/);
  assert.doesNotMatch(engineLabel(cfg, "0.11.0"), /SIMULATED/);
});
