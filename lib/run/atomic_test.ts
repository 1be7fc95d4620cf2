import assert from "node:assert/strict";
import { join } from "node:path";
import { readJsonIfExists, writeJsonAtomic, writeTextAtomic } from "./atomic.ts";

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** Yields two rows, then fails as a full disk or a crashed producer would. */
async function* failingRows() {
  yield "partial row 1\n";
  yield "partial row 2\n";
  throw new Error("disk on fire");
}

Deno.test("writeTextAtomic replaces the file and leaves no temporary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "sub", "a.csv");
    await writeTextAtomic(p, "old\n");
    await writeTextAtomic(p, ["new", ",", "value\n"]);
    assert.equal(await Deno.readTextFile(p), "new,value\n");
    assert.deepEqual(await listDir(join(dir, "sub")), ["a.csv"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failure while writing keeps the old content and removes the temporary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "a.csv");
    await writeTextAtomic(p, "old\n");
    await assert.rejects(() => writeTextAtomic(p, failingRows()), /disk on fire/);
    assert.equal(await Deno.readTextFile(p), "old\n");
    assert.deepEqual(await listDir(dir), ["a.csv"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed first write leaves no file at all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeTextAtomic(join(dir, "b.json"), failingRows()), /disk on fire/);
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeJsonAtomic writes BigInt values and reads back; missing file is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "x.json");
    assert.equal(await readJsonIfExists(p), undefined);
    await writeJsonAtomic(p, { n: 5n, big: 2n ** 70n });
    assert.deepEqual(await readJsonIfExists(p), { n: 5, big: "1180591620717411303424" });
    await Deno.writeTextFile(p, "{not json");
    await assert.rejects(() => readJsonIfExists(p), /Cannot parse .*x\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
