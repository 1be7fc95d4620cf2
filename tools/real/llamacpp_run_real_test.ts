/**
 * Real-engine test: `./servelab run --engine llamacpp` end to end, every tier notebook and the write-up, at the
 * test size, into a temporary reports folder (about a minute). It pins what only a whole run on llama.cpp
 * shows: the KV notebook on an engine with no block pool (it says so instead of failing), and the embedded
 * engine's prediction beside the run on every tier page. Runs in the opt-in `real` step (tools/ok.ts).
 * @module
 */
import assert from "node:assert/strict";
import { ROOT } from "../_jupyter.ts";
import { installLlamaServer, prepareTinyGguf } from "./llamacpp_serve.ts";

Deno.test("./servelab run --engine llamacpp: all five notebooks pass, the KV page has no pool chart and says why", async () => {
  const command = await installLlamaServer();
  const gguf = await prepareTinyGguf();
  const reports = await Deno.makeTempDir({ prefix: "servelab-llamacpp-run-" });
  try {
    const out = await new Deno.Command(`${ROOT}/servelab`, {
      args: ["run", "--engine", "llamacpp", "--model", gguf, "--size", "test", "--reports", reports],
      cwd: ROOT,
      env: { SERVELAB_LLAMA_SERVER: command, SERVELAB_BATCHING_CONCURRENCY: "1,2,4", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text.slice(-3000));
    assert.match(text, /5 passed, 0 failed/);
    const [run] = [...Deno.readDirSync(reports)].filter((e) => e.isDirectory).map((e) =>
      `${reports}/${e.name}`
    );
    const page = (name: string) => Deno.readTextFileSync(`${run}/${name}`);
    assert.match(page("03_kv_scaling.html"), /No KV pool to draw: .*reported no block pool/);
    for (const name of ["01_ttft.html", "02_prefix_caching.html", "04_batching.html"]) {
      assert.match(page(name), /prediction beside this run<\/h3><p>Measured: llamacpp/, name);
      assert.match(page(name), /predicted \(SIMULATED\)/, name);
    }
  } finally {
    await Deno.remove(reports, { recursive: true }).catch(() => {});
  }
});
