// Filesystem failures that happen to root too (CI runs as root, so chmod cannot make a folder
// read-only there): a reports folder whose parent is a file, a run folder replaced by a file mid-run,
// and a write that runs out of room (RLIMIT_FSIZE: the kernel refuses the write with EFBIG, as a full
// disk refuses it with ENOSPC).
import assert from "node:assert/strict";
import { join } from "node:path";
import { AtomicWriteError, writeTextAtomic } from "./atomic.ts";
import { pointPaths, runPoints, writePoint } from "./points.ts";
import { createRun } from "./run_dir.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("a reports folder that cannot be created is a clear error naming it, and nothing is written", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "servelab-disk-" });
  try {
    const file = join(tmp, "not-a-folder");
    await Deno.writeTextFile(file, "a file where a folder should be\n");
    const root = join(file, "reports");
    await assert.rejects(
      createRun({ engine: "sim", root }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^Cannot create run \\S+ in ${root}: `));
        assert.match(e.message, /Not a directory/);
        assert.match(
          e.message,
          /Check that .*reports is a folder \(not a file\), is writable and has free space/,
        );
        return true;
      },
    );
    assert.deepEqual(await names(tmp), ["not-a-folder"]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a point written into a folder that is gone fails with the path and the fix, and leaves no marker", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "servelab-disk-" });
  try {
    const run = await createRun({ engine: "sim", root: tmp });
    await writePoint(run, "t", "p1", { rows: [{ a: 1 }] });
    // The tier's folder is replaced by a file (another process, a full disk cleaned by hand...).
    await Deno.remove(join(run.pointsDir, "t"), { recursive: true });
    await Deno.writeTextFile(join(run.pointsDir, "t"), "");
    const err = await writePoint(run, "t", "p2", { rows: [{ a: 2 }] }).then(() => undefined, (e) => e);
    assert.ok(err instanceof AtomicWriteError, String(err));
    assert.equal(err.path, pointPaths(run, "t", "p2").csv);
    assert.match(err.message, /^Cannot write .*\/points\/t\/p2\.csv: creating its folder failed \(/);
    assert.match(
      err.message,
      /Nothing was written there .* Check that the folder exists, is a folder and is writable/,
    );
    // runPoints cannot even read or record a point there: the sweep stops with that error, not blind.
    await assert.rejects(
      runPoints(run, "t", [{ id: "p3" }], () => Promise.resolve({ rows: [{ a: 3 }] }), { progress: false }),
      /^Error: Cannot read .*\/points\/t\/p3\.json: Not a directory.*Check that its folder exists, is a folder/,
    );
    await assert.rejects(
      writeTextAtomic(join(run.pointsDir, "t", "x.json"), "{}"),
      /creating its folder failed/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  name:
    "a write that runs out of room fails that point with a clear error; no partial file is left as complete",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "servelab-disk-full-" });
    try {
      const driver = new URL("./testdata/disk_full_driver.ts", import.meta.url).pathname;
      const config = new URL("../../deno.json", import.meta.url).pathname;
      // Ignored signals stay ignored across exec, so the write fails with EFBIG instead of killing Deno.
      const script = `trap '' XFSZ; ulimit -f 256; exec "$0" run -A --no-check --config "$1" "$2" "$3"`;
      const out = await new Deno.Command("bash", {
        args: ["-c", script, Deno.execPath(), config, driver, root],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
      const { dir, summary } = JSON.parse(text.trim().split("\n").at(-1)!);
      assert.deepEqual(summary.done, ["p1", "p3"], "the sweep went on after the failed write");
      assert.deepEqual(summary.failed.map((f: { id: string }) => f.id), ["p2"]);
      assert.match(
        summary.failed[0].error,
        /^Cannot write .*\/points\/disk\/p2\.csv: writing failed \(File too large \(os error 27\)\)\. Nothing was written there/,
      );
      const files = await names(join(dir, "points", "disk"));
      assert.deepEqual(
        files,
        ["p1.csv", "p1.json", "p2.failed.json", "p3.csv", "p3.json"],
        "no p2 result, no temporary",
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
