import assert from "node:assert/strict";
import { join } from "node:path";
import { type RecordedRun, runContractDiffs } from "./run_contract.ts";

const REC: RecordedRun = {
  about: "test",
  files: ["a.csv", "facts.json", "index.html"],
  columns: { "a.csv": ["x", "y_ms"] },
  facts: ["f1", "f2"],
};

async function runDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [n, t] of Object.entries(files)) await Deno.writeTextFile(join(dir, n), t);
  return dir;
}

const facts = (...ids: string[]) => JSON.stringify({ facts: ids.map((id) => ({ id })) });

Deno.test("a run as recorded has no difference; pages outside the data files are not compared", async () => {
  const dir = await runDir({ "a.csv": "x,y_ms\n1,2\n", "facts.json": facts("f1", "f2") });
  assert.deepEqual(await runContractDiffs(dir, REC), []);
});

Deno.test("a renamed column, a missing or new file and an unknown fact are each named", async () => {
  const dir = await runDir({ "b.csv": "x\n", "facts.json": facts("f1", "f3") });
  assert.deepEqual(await runContractDiffs(dir, REC), [
    "file a.csv: recorded, not written",
    "file b.csv: written, not recorded",
    "fact f3: in facts.json, not recorded",
  ]);
  const dir2 = await runDir({ "a.csv": "x,y\n", "facts.json": facts("f1", "f2") });
  assert.deepEqual(await runContractDiffs(dir2, REC), [
    "columns of a.csv: recorded [x, y_ms], written [x, y]",
  ]);
});

Deno.test("a recorded fact without data is a difference only when strict", async () => {
  const dir = await runDir({ "a.csv": "x,y_ms\n", "facts.json": facts("f1") });
  const absent: string[] = [];
  assert.deepEqual(await runContractDiffs(dir, REC, { absent }), []);
  assert.deepEqual(absent, ["f2"]);
  assert.deepEqual(await runContractDiffs(dir, REC, { strict: true }), [
    "fact f2: recorded, not in facts.json",
  ]);
});
