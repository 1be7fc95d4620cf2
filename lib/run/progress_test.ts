import assert from "node:assert/strict";
import { progress, progressText } from "./progress.ts";

Deno.test("progress rewrites one terminal line and ends it", async () => {
  const out: string[] = [];
  const p = progress("ttft points", { total: 4, terminal: true, intervalMs: 0, write: (t) => out.push(t) });
  await p.update(1, "c1");
  await p.update(2, "c2");
  await p.done();
  assert.deepEqual(out, [
    "\rttft points: 1/4 (25%) c1",
    "\rttft points: 2/4 (50%) c2",
    "\rttft points: 2/4 (50%) stopped\n",
  ]);
  await p.update(3);
  assert.equal(out.length, 3, "updates after done are ignored");
});

Deno.test("progress in a log prints whole lines, throttled, and always the final state", async () => {
  const out: string[] = [];
  const p = progress("kv", { total: 3, terminal: false, intervalMs: 60_000, write: (t) => out.push(t) });
  await p.update(1);
  await p.update(2);
  await p.update(3);
  await p.done("3 run");
  assert.deepEqual(out, ["kv: 1/3 (33%)\n", "kv: 3/3 (100%) 3 run\n"]);
  assert.equal(progressText("n", 5), "n: 5");
});
