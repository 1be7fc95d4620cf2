import assert from "node:assert/strict";
import { join } from "node:path";
import {
  durationText,
  pointParams,
  PROGRESS_FILE,
  progressLine,
  readProgress,
  sweepProgress,
  writeProgress,
} from "./progress_file.ts";
import { runPoints } from "./points.ts";
import { createRun } from "./run_dir.ts";

Deno.test("pointParams: scalar fields but id as key=value, cut at the limit", () => {
  assert.equal(
    pointParams({ id: "c4", concurrency: 4, prompt_tokens: 512, nested: { a: 1 } }),
    "concurrency=4 prompt_tokens=512",
  );
  assert.equal(pointParams({ id: "x", rate: 1.23456789 }), "rate=1.235");
  assert.equal(pointParams({ id: "x", a: "aaaaaaaaaa", b: "bbbbbbbbbb" }, 15), "a=aaaaaaaaaa …");
});

Deno.test("durationText: seconds, minutes, hours", () => {
  assert.equal(durationText(4.4), "4 s");
  assert.equal(durationText(185), "3 min 05 s");
  assert.equal(durationText(3720), "1 h 02 min");
});

Deno.test("sweepProgress: point i of n, elapsed, and the rest estimated from measured points only", () => {
  let t = 0;
  const sp = sweepProgress("kv", 4, () => t);
  const first = sp.start(1, { id: "len=1024", max_model_len: 1024 });
  assert.equal(first.eta_s, undefined, "no estimate before a point was measured");
  sp.finish("skipped", 0);
  sp.start(2, { id: "len=2048", max_model_len: 2048 });
  t = 10_000;
  sp.finish("ran", 10);
  const third = sp.start(3, { id: "len=4096", max_model_len: 4096 });
  assert.equal(third.i, 3);
  assert.equal(third.elapsed_s, 10);
  assert.equal(third.eta_s, 20, "two points left at 10 s each");
  assert.equal(progressLine(third), "kv: point 3/4 max_model_len=4096 · 10 s elapsed, ~20 s left");
  sp.finish("failed", 5);
  sp.start(4, { id: "len=8192" });
  sp.finish("ran", 5);
  const end = sp.end();
  assert.equal(end.state, "done");
  assert.equal(progressLine(end), "kv: 4/4 points done (2 run, 1 already done, 1 failed) in 10 s");
});

Deno.test("runPoints writes progress.json as each point starts and a done state at the end", async () => {
  const root = await Deno.makeTempDir();
  try {
    const run = await createRun({ engine: "sim", root });
    const seen: (string | undefined)[] = [];
    await runPoints(run, "toy", [{ id: "a", n: 1 }, { id: "b", n: 2 }], async (p) => {
      const s = await readProgress(run.dir);
      seen.push(s && `${s.i}/${s.n} ${s.params} ${s.state}`);
      return { rows: [{ n: p.n }] };
    }, { progress: false });
    assert.deepEqual(seen, ["1/2 n=1 running", "2/2 n=2 running"]);
    const end = await readProgress(run.dir);
    assert.equal(end?.state, "done");
    assert.equal(end?.finished, 2);
    // A file that is not progress reads as none, never a throw.
    await Deno.writeTextFile(join(run.dir, PROGRESS_FILE), "{");
    assert.equal(await readProgress(run.dir), undefined);
    await writeProgress(join(root, "no", "such"), end!); // ignored, no throw
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
