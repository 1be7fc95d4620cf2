import assert from "node:assert/strict";
import { besideMarkdown } from "../sim/mod.ts";
import { besideRun } from "./beside.ts";

const TTFT_HEAD = "series,prompt_tokens_target,endpoint,ok,prompt_tokens,completion_tokens,ttft_ms,tpot_ms";
const SWEEP_HEAD = "point_id,concurrency,ttft_p50_ms,tpot_p50_ms,throughput_rps";
const REQ_HEAD = "point_id,phase,ok,prompt_tokens,completion_tokens";

function runDir(): string {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${dir}/ttft.csv`,
    [
      TTFT_HEAD,
      "cold,256,completions,true,256,8,500,20",
      "warm,256,completions,true,256,8,40,4",
      "warm,256,completions,true,256,8,40,4",
      "idle,256,completions,true,256,8,45,4",
    ].join("\n"),
  );
  Deno.writeTextFileSync(`${dir}/concurrency_sweep.csv`, [SWEEP_HEAD, "c4-r1,4,30,6,2"].join("\n"));
  const reqs = Array.from({ length: 12 }, (_, i) => `c4-r1,${i < 4 ? "warmup" : "measure"},true,512,32`);
  Deno.writeTextFileSync(`${dir}/batching_requests.csv`, [REQ_HEAD, ...reqs].join("\n"));
  return dir;
}

const O = { profile: "H100-80GB", model: "Qwen/Qwen2.5-0.5B-Instruct" };

Deno.test("every replayable number of a run gets the engine's prediction and the error; idle is not replayed", () => {
  const rows = besideRun(runDir(), O);
  const keys = rows.map((r) => `${r.tier}/${r.point}/${r.metric}`);
  assert.deepEqual(keys, [
    "ttft/cold/ttft_ms",
    "ttft/cold/tpot_ms",
    "ttft/warm/ttft_ms",
    "ttft/warm/tpot_ms",
    "batching/c4 c4-r1/ttft_ms",
    "batching/c4 c4-r1/tpot_ms",
    "batching/c4 c4-r1/throughput_rps",
  ]);
  for (const r of rows) assert.ok(Math.abs(r.error - (r.predicted / r.measured - 1)) < 1e-12, r.point);
  const cold = rows.find((r) => r.point === "cold" && r.metric === "ttft_ms")!;
  const warm = rows.find((r) => r.point === "warm" && r.metric === "ttft_ms")!;
  assert.ok(cold.predicted > warm.predicted + 30, "the cold replay pays the first-request penalty");
  assert.equal(rows.find((r) => r.tier === "batching")!.n, 8, "medians over the measured requests only");
});

Deno.test("the page labels the prediction SIMULATED and names the profile; a folder without tier data is refused", () => {
  const md = besideMarkdown(besideRun(runDir(), O), { ...O, run: "r1", engine: "vllm 0.32.0" });
  assert.match(md, /\*\*SIMULATED\*\*/);
  assert.match(md, /`H100-80GB` profile/);
  assert.match(md, /\| ttft \| warm \| ttft_ms \| 2 \| 40\.0 \|/);
  assert.doesNotMatch(md, /NaN|undefined/);
  assert.throws(() => besideRun(Deno.makeTempDirSync(), O), /has no points to replay/);
});
