import assert from "node:assert/strict";
import { join } from "node:path";
import { main, parseRunArgs } from "./run.ts";

Deno.test("run --dry-run checks the options, lists the notebooks and creates no run folder", async () => {
  assert.equal(parseRunArgs(["--dry-run"]).dry_run, true);
  const notebooksDir = await Deno.makeTempDir();
  const root = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    for (const n of ["01_ttft.ipynb", "02_prefix_caching.ipynb"]) {
      await Deno.writeTextFile(join(notebooksDir, n), "{}");
    }
    assert.equal(
      await main(["--engine", "sim", "--tiers", "prefix", "--dry-run"], { notebooksDir, root }),
      0,
    );
    assert.deepEqual(lines, [
      "servelab run --dry-run: would run 02_prefix_caching.ipynb on sim, size default",
    ]);
    assert.equal(
      await main(["--tiers", "nine", "--dry-run"], { notebooksDir, root }),
      2,
      "bad options still fail",
    );
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder");
  } finally {
    console.log = log;
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});
