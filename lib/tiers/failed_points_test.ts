import assert from "node:assert/strict";
import { join } from "node:path";
import { failedPointsMd, withNote } from "./failed_points.ts";

Deno.test("a tier's markdown names its failed points and the first cause after its title; none: unchanged", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "points", "ttft"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "points", "ttft", "attach-0.failed.json"),
      JSON.stringify({ tier: "ttft", id: "attach-0", failed_at: "x", error: "Cannot tokenize: `HTTP 404`" }),
    );
    const note = await failedPointsMd(dir, "ttft");
    assert.equal(
      note,
      "**Failed points.** 1 of 1 point(s) failed (every point: the tier measured nothing); the first (`attach-0`): " +
        "`Cannot tokenize: 'HTTP 404'`. The run's manifest records it under `tiers`, and the run exits non-zero.",
    );
    assert.equal(await failedPointsMd(dir, "kv"), undefined);
    assert.equal(withNote("# T\nsub\n\nbody\n", note), `# T\nsub\n\n${note}\n\nbody\n`);
    assert.equal(withNote("# T\n\nbody\n", undefined), "# T\n\nbody\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
