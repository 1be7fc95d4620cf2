import assert from "node:assert/strict";
import { join } from "node:path";
import { parseServeConfig } from "../../lib/engine/config.ts";
import { defaultThresholds, thresholdsJson } from "../../lib/health/thresholds.ts";
import { serveSim } from "../../lib/sim/server.ts";
import { main } from "./health.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

async function smallFile(dir: string): Promise<string> {
  const t = defaultThresholds();
  t.canary = { concurrency: 2, requests: 4, prompt_tokens: 32, max_tokens: 4, timeout_s: 10 };
  const path = join(dir, "thresholds.json");
  await Deno.writeTextFile(path, thresholdsJson(t));
  return path;
}

Deno.test("health prints a plain table (no colour codes) and exits 0 against a healthy engine", async () => {
  await using srv = await serveSim(parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct" }), {
    port: 0,
  });
  const file = await smallFile(await Deno.makeTempDir());
  const c = capture();
  assert.equal(await main(["--url", srv.url, "--thresholds", file], c.io), 0, c.err.join("\n"));
  const text = c.out.join("\n");
  assert.match(text, /SIMULATED/);
  assert.match(text, /^check\s+measured\s+op\s+threshold\s+unit\s+status/m);
  assert.match(text, /^error_rate\s+0\s+<=\s+0\s+fraction\s+ok/m);
  // The seed's five first; GPU utilisation and VRAM headroom with values from the engine's model, SIMULATED.
  const rows = text.split("\n").filter((l) => /^[a-z_0-9]+\s+[-\d.]+\s+(<=|>=)/.test(l)).map((l) =>
    l.split(/\s+/)[0]
  );
  assert.deepEqual(rows.slice(0, 5), [
    "ttft_p95_ms",
    "e2e_p95_ms",
    "output_tok_s",
    "gpu_util_max",
    "gpu_memory_headroom_gib",
  ]);
  assert.match(
    text,
    /^gpu_util_max\s+[\d.]+\s+>=\s+0\.05\s+fraction\s+ok\s+SIMULATED: the embedded engine's model/m,
  );
  assert.match(
    text,
    /^gpu_memory_headroom_gib\s+[\d.]+\s+>=\s+0\.5\s+GiB\s+ok\s+SIMULATED: the embedded engine's model/m,
  );
  assert.ok(!text.includes("\x1b["), "no colour codes when not a terminal");
});

Deno.test("health --json prints one object with checks, exit code, version and simulated", async () => {
  await using srv = await serveSim(
    parseServeConfig({
      engine: "sim",
      model: "Qwen/Qwen2.5-1.5B-Instruct",
      sim: { faults: { http_500_rate: 1 } },
    }),
    { port: 0 },
  );
  const file = await smallFile(await Deno.makeTempDir());
  const c = capture();
  assert.equal(await main([`--url=${srv.url}`, "--thresholds", file, "--json"], c.io), 1);
  const j = JSON.parse(c.out.join("\n"));
  assert.equal(j.kind, "judged");
  assert.equal(j.status, "breach");
  assert.equal(j.exit_code, 1);
  assert.equal(j.simulated, true);
  assert.match(j.server_version, /servelab-sim/);
  assert.equal(j.thresholds_file, file);
  assert.equal(j.checks.length, 9);
  const err = j.checks.find((x: { id: string }) => x.id === "error_rate");
  assert.deepEqual([err.measured, err.status, err.threshold], [1, "breach", 0]);
  assert.equal(typeof j.measured.values, "object");
});

Deno.test("health exits 2 for a malformed thresholds file naming the field, and for bad arguments", async () => {
  const dir = await Deno.makeTempDir();
  const t = JSON.parse(thresholdsJson(defaultThresholds()));
  t.checks[2].op = "=";
  const bad = join(dir, "bad.json");
  await Deno.writeTextFile(bad, JSON.stringify(t));
  const c = capture();
  assert.equal(await main(["--url", "http://127.0.0.1:9", "--thresholds", bad], c.io), 2);
  assert.match(c.err.join("\n"), /bad\.json.*\n.*checks\[2\]\.op/);
  const j = capture();
  assert.equal(await main(["--url", "http://127.0.0.1:9", "--thresholds", bad, "--json"], j.io), 2);
  assert.equal(JSON.parse(j.out.join("\n")).exit_code, 2);
  const missing = capture();
  assert.equal(
    await main(["--url", "http://127.0.0.1:9", "--thresholds", join(dir, "nope.json")], missing.io),
    2,
  );
  assert.match(missing.err.join("\n"), /nope\.json/);
  const noUrl = capture();
  assert.equal(await main(["--json"], noUrl.io), 2);
  assert.equal(await main(["--url", "http://127.0.0.1:9", "--colour"], noUrl.io), 2);
  assert.match(noUrl.out.join("\n") + noUrl.err.join("\n"), /--url is required/);
  const remote = capture();
  assert.equal(await main(["--url", "http://192.0.2.1:8000"], remote.io, { allow_remote: false }), 2);
  assert.match(remote.err.join("\n"), /not loopback.*--allow-remote/);
});
