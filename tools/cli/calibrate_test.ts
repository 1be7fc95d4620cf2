import assert from "node:assert/strict";
import { main } from "./calibrate.ts";
import { evaluateRows, loadValidationRows } from "../../lib/sim/validation.ts";

function runDir(): string {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/manifest.json`,
    JSON.stringify({
      run_id: "r1",
      engine: { kind: "vllm", version: "0.11.0" },
      model: "m",
      gpu: { kind: "none" },
    }),
  );
  Deno.writeTextFileSync(
    `${dir}/concurrency_sweep.csv`,
    "point_id,concurrency,ttft_p50_ms,tpot_p50_ms,e2e_p50_ms,throughput_rps\nc4-r1,4,30,6,220,2\n",
  );
  const reqs = Array.from({ length: 12 }, (_, i) => `c4-r1,${i < 4 ? "warmup" : "measure"},true,512,32`);
  Deno.writeTextFileSync(
    `${dir}/batching_requests.csv`,
    ["point_id,phase,ok,prompt_tokens,completion_tokens", ...reqs].join("\n"),
  );
  return dir;
}

const quiet = () => {
  const out: string[] = [], err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
};

Deno.test("calibrate writes the page beside the run and --keep adds its points to the kept table once", async () => {
  const dir = runDir();
  const kept = `${Deno.makeTempDirSync()}/kept.json`;
  const args = [dir, "--profile", "H100-80GB", "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--keep"];
  const q = quiet();
  assert.equal(await main(args, q.io, { kept }), 0, q.err.join("\n"));
  assert.match(Deno.readTextFileSync(`${dir}/predicted_vs_measured.md`), /SIMULATED/);
  assert.equal(await main(args, quiet().io, { kept }), 0);
  const rows = loadValidationRows(
    new URL("../../data/validation/gpu_published.json", import.meta.url),
    new URL(`file://${kept}`),
  );
  const mine = rows.filter((r) => r.source === "servelab run r1");
  assert.equal(mine.length, 1, "a second --keep replaces the run's rows");
  assert.deepEqual(mine[0].workload, {
    input_tokens: 512,
    output_tokens: 32,
    concurrency: 4,
    num_prompts: 8,
  });
  assert.equal(mine[0].split, "holdout");
  const [r] = evaluateRows(mine, new Set());
  assert.ok(r.predicted.ttft_ms! > 0 && r.error.itl_ms !== undefined);
});

Deno.test("calibrate refuses a run it cannot replay and a model outside the catalog, and says why", async () => {
  const q = quiet();
  assert.equal(await main([Deno.makeTempDirSync()], q.io), 1);
  assert.match(q.err.join("\n"), /manifest\.json/);
  const q2 = quiet();
  assert.equal(await main([runDir(), "--model", "nope/nope"], q2.io), 1);
  assert.match(q2.err.join("\n"), /Unknown model 'nope\/nope'|nope\/nope/);
  assert.equal(await main([], quiet().io), 2);
});

Deno.test("calibrate replays a llama.cpp run on its GGUF's own shape, and refuses --keep without a catalog model", async () => {
  const { tinyGgufBytes, tinyModelSpec } = await import("../../lib/tinymodel/mod.ts");
  const dir = runDir();
  const gguf = `${Deno.makeTempDirSync()}/tiny.gguf`;
  Deno.writeFileSync(gguf, tinyGgufBytes(tinyModelSpec()));
  Deno.writeTextFileSync(
    `${dir}/manifest.json`,
    JSON.stringify({
      run_id: "r2",
      engine: { kind: "llamacpp", version: "b1" },
      model: gguf,
      gpu: { kind: "none" },
    }),
  );
  const q = quiet();
  assert.equal(await main([dir], q.io), 0, q.err.join("\n"));
  const page = Deno.readTextFileSync(`${dir}/predicted_vs_measured.md`);
  assert.match(page, /tiny\.gguf \(the shape in the GGUF file's metadata, float32 weights\)/);
  const k = quiet();
  assert.equal(await main([dir, "--keep"], k.io, { kept: `${Deno.makeTempDirSync()}/kept.json` }), 1);
  assert.match(k.err.join("\n"), /--keep stores the model's id .*Pass --model ID/);
});
