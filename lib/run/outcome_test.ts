import assert from "node:assert/strict";
import { join } from "node:path";
import { exitCodeOf, outcomeLines, overallOutcome, tierOutcomes } from "./outcome.ts";

async function point(dir: string, tier: string, id: string, error?: string) {
  await Deno.mkdir(join(dir, "points", tier), { recursive: true });
  const path = join(dir, "points", tier, error === undefined ? `${id}.json` : `${id}.failed.json`);
  const body = error === undefined
    ? { tier, id, finished_at: "2026-12-08T00:00:00Z", duration_s: 1, rows: 1 }
    : { tier, id, failed_at: "2026-12-08T00:00:00Z", error };
  await Deno.writeTextFile(path, JSON.stringify(body));
}

Deno.test("a tier whose points all failed is failed, some failed partial, none complete; the cause is the first failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await point(dir, "ttft", "b", "second");
    await point(dir, "ttft", "a", "Cannot tokenize: HTTP 404");
    await point(dir, "batching", "c1");
    await point(dir, "batching", "c200000", "refused: 200000 streams");
    await point(dir, "kv", "len=1024");
    const o = await tierOutcomes(dir, ["ttft", "batching", "kv", "prefix"]);
    assert.deepEqual(o.ttft, {
      status: "failed",
      points_done: 0,
      points_failed: 2,
      failed_point: "a",
      cause: "Cannot tokenize: HTTP 404",
    });
    assert.equal(o.batching.status, "partial");
    assert.equal(o.batching.cause, "refused: 200000 streams");
    assert.equal(o.kv.status, "complete");
    assert.equal(o.prefix.status, "not_run");
    assert.equal(overallOutcome(o), "failed");
    assert.equal(exitCodeOf(overallOutcome(o)), 1);
    assert.equal(overallOutcome({ kv: o.kv, b: o.batching }), "partial");
    assert.equal(exitCodeOf("partial"), 3);
    assert.equal(overallOutcome({ kv: o.kv, p: o.prefix }), "complete");
    assert.deepEqual(outcomeLines(o), [
      "ttft: failed (2 of 2 points failed); first failure a: Cannot tokenize: HTTP 404",
      "batching: partial (1 of 2 points failed); first failure c200000: refused: 200000 streams",
    ]);
    // Without a list: every folder under points/.
    assert.deepEqual(Object.keys(await tierOutcomes(dir)), ["batching", "kv", "ttft"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a point retried to success is done even if a stale .failed.json is left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await point(dir, "kv", "x", "old failure");
    await point(dir, "kv", "x");
    const o = await tierOutcomes(dir, ["kv"]);
    assert.equal(o.kv.status, "complete");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
