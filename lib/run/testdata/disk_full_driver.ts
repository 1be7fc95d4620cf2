// Runs a three-point sweep into ROOT under a small RLIMIT_FSIZE (set by the test): p2's CSV is larger
// than the limit, so writing it fails as a full disk would. Prints what runPoints returned as JSON.
import { createRun } from "../run_dir.ts";
import { runPoints } from "../points.ts";

const [root] = Deno.args;
const run = await createRun({ engine: "sim", root, id: "disk-full" });
const big = Array.from({ length: 20_000 }, (_, i) => ({ i, text: "x".repeat(40) }));
const s = await runPoints(
  run,
  "disk",
  [{ id: "p1" }, { id: "p2" }, { id: "p3" }],
  (p) => Promise.resolve({ rows: p.id === "p2" ? big : [{ i: 0, text: p.id }] }),
  { progress: false },
);
console.log(JSON.stringify({ dir: run.dir, summary: s }));
