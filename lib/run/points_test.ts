import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { csvNumber, readCsv } from "./csv.ts";
import { collectPoints, pointDone, pointPaths, readPoint, runPoints } from "./points.ts";
import { createRun, type Run } from "./run_dir.ts";

async function withRun(fn: (run: Run) => Promise<void>) {
  const root = await Deno.makeTempDir();
  try {
    await fn(await createRun({ engine: "sim", root }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const points = [2, 10, 1].map((n) => ({ id: `c${n}`, concurrency: n }));
const rowsFor = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => ({ concurrency: n, request: i, ttft_ms: 10 + i, tag }));

Deno.test("a rerun skips finished points and force reruns them", async () => {
  await withRun(async (run) => {
    const calls: string[] = [];
    const fn = (tag: string) => (p: { id: string; concurrency: number }) => {
      calls.push(`${tag}:${p.id}`);
      return Promise.resolve({ rows: rowsFor(p.concurrency, tag), data: { tag } });
    };
    const first = await runPoints(run, "batching", points, fn("first"), { progress: false });
    assert.deepEqual(first.done, ["c2", "c10", "c1"]);
    assert.equal(await pointDone(run, "batching", "c10"), true);

    const second = await runPoints(run, "batching", points, fn("second"), { progress: false });
    assert.deepEqual(second.skipped, ["c2", "c10", "c1"]);
    assert.deepEqual(second.done, []);
    assert.deepEqual(calls, ["first:c2", "first:c10", "first:c1"]);

    const forced = await runPoints(run, "batching", points, fn("forced"), { progress: false, force: true });
    assert.deepEqual(forced.done, ["c2", "c10", "c1"]);
    assert.deepEqual((await readPoint(run, "batching", "c2"))?.data, { tag: "forced" });
    const csv = await Deno.readTextFile(pointPaths(run, "batching", "c2").csv);
    assert.ok(csv.includes("forced") && !csv.includes("first"));
  });
});

Deno.test("a failed point writes .failed.json, the sweep goes on, and a rerun retries it", async () => {
  await withRun(async (run) => {
    let failOnce = true;
    const fn = (p: { id: string; concurrency: number }) => {
      if (p.id === "c10" && failOnce) throw new Error("engine exited with code 1");
      return Promise.resolve({ rows: rowsFor(p.concurrency, "x") });
    };
    const s = await runPoints(run, "batching", points, fn, { progress: false });
    assert.deepEqual(s.done, ["c2", "c1"]);
    assert.deepEqual(s.failed, [{ id: "c10", error: "engine exited with code 1" }]);
    const failure = JSON.parse(await Deno.readTextFile(pointPaths(run, "batching", "c10").failed));
    assert.equal(failure.error, "engine exited with code 1");
    assert.equal(await pointDone(run, "batching", "c10"), false);
    const partial = await collectPoints(run, "batching");
    assert.deepEqual(partial.failed, ["c10"]);

    failOnce = false;
    const retry = await runPoints(run, "batching", points, fn, { progress: false });
    assert.deepEqual(retry.done, ["c10"]);
    await assert.rejects(() => Deno.stat(pointPaths(run, "batching", "c10").failed), Deno.errors.NotFound);
  });
});

Deno.test("collectPoints concatenates point CSVs in natural id order with a point_id column", async () => {
  await withRun(async (run) => {
    await runPoints(run, "batching", points, (p) => Promise.resolve({ rows: rowsFor(p.concurrency, "t") }), {
      progress: false,
    });
    const out = await collectPoints(run, "batching", { file: "concurrency_sweep.csv" });
    assert.equal(out.path, join(run.dir, "concurrency_sweep.csv"));
    assert.deepEqual(out.points, ["c1", "c2", "c10"]);
    assert.equal(out.rows, 13);
    const Row = z.object({
      point_id: z.string(),
      concurrency: csvNumber,
      request: csvNumber,
      ttft_ms: csvNumber,
    });
    const rows = await readCsv(out.path, Row);
    assert.deepEqual([...new Set(rows.map((r) => r.point_id))], ["c1", "c2", "c10"]);
    assert.ok(rows.every((r) => r.concurrency === Number(r.point_id.slice(1))));
    const header = (await Deno.readTextFile(out.path)).split("\n")[0];
    assert.equal(header, "point_id,concurrency,request,ttft_ms,tag");
  });
});

Deno.test("point ids are checked: unsafe names and duplicates are refused", async () => {
  await withRun(async (run) => {
    const ok = () => Promise.resolve({});
    await assert.rejects(
      () => runPoints(run, "t", [{ id: "../x" }], ok, { progress: false }),
      /Invalid point id/,
    );
    await assert.rejects(
      () => runPoints(run, "t", [{ id: "a" }, { id: "a" }], ok, { progress: false }),
      /appears twice/,
    );
  });
});
