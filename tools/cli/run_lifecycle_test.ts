// Nothing outlives `./servelab run`: SIGKILL of the lab (no handler can run) and SIGHUP to its process
// group (a closed terminal) each leave no runner, kernel or engine, and the run is not left `running`.
// A generated notebook starts an embedded engine, writes the pids, then waits in a long cell.
import assert from "node:assert/strict";
import { join } from "node:path";
import { groupMembers, pidAlive } from "../../lib/engine/process_group.ts";
import { readManifest } from "../../lib/run/manifest.ts";
import { ROOT } from "../_jupyter.ts";
import { main } from "./run.ts";

const LIB = "../../../lib";

const NOTEBOOK = {
  cells: [{
    cell_type: "code",
    id: "engine",
    metadata: {},
    outputs: [],
    execution_count: null,
    source: `import { launch } from "${LIB}/engine/mod.ts";
import { runDirFromEnv } from "${LIB}/run/mod.ts";
import { labEnv, serveConfigFor } from "${LIB}/tiers/mod.ts";
const run = await runDirFromEnv();
const engine = await launch(serveConfigFor(labEnv(), { max_model_len: 2048 }), { log_dir: run.logsDir, log_name: "e" });
await Deno.writeTextFile(Deno.env.get("E2E_PIDS") + "/pids.json", JSON.stringify({ engine: engine.pid, kernel: Deno.pid, runner: Deno.ppid }));
await new Promise((r) => setTimeout(r, 120_000));`,
  }],
  metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
  nbformat: 4,
  nbformat_minor: 5,
};

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function scenario(kill: (lab: Deno.ChildProcess) => void) {
  const notebooksDir = await Deno.makeTempDir({ dir: join(ROOT, "tools", "testdata"), prefix: ".tmp-life-" });
  const root = await Deno.makeTempDir({ prefix: "servelab-life-" });
  const pidsDir = await Deno.makeTempDir({ prefix: "servelab-life-pids-" });
  try {
    await Deno.writeTextFile(join(notebooksDir, "01_wait.ipynb"), JSON.stringify(NOTEBOOK));
    await Deno.writeTextFile(join(notebooksDir, "02_next.ipynb"), JSON.stringify(NOTEBOOK));
    const lab = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "tools", "testdata", "run_verb_driver.ts"),
        notebooksDir,
        root,
        "--engine",
        "sim",
        "--size",
        "test",
      ],
      env: { E2E_PIDS: pidsDir },
      stdout: "null",
      stderr: "null",
      detached: true, // its own process group, like a terminal's job
    }).spawn();
    const pidsFile = join(pidsDir, "pids.json");
    await waitFor("the notebook's engine started", () => {
      try {
        return Deno.statSync(pidsFile).isFile && Deno.readTextFileSync(pidsFile).endsWith("}");
      } catch {
        return false;
      }
    }, 120_000);
    const pids = JSON.parse(Deno.readTextFileSync(pidsFile)) as {
      engine: number;
      kernel: number;
      runner: number;
    };
    for (const p of Object.values(pids)) assert.ok(pidAlive(p));
    kill(lab);
    await lab.status;
    await waitFor(
      "runner, kernel and engine gone",
      () => !pidAlive(pids.runner) && !pidAlive(pids.kernel) && groupMembers(pids.engine).length === 0,
      25_000,
    );
    assert.deepEqual(groupMembers(lab.pid), [], "nothing left in the lab's process group");
    assert.ok(!Deno.readDirSync(pidsDir).some((e) => e.name !== "pids.json"), "no second tier was started");
    const id = [...Deno.readDirSync(root)].find((e) => e.isDirectory)!.name;
    return { root, id, notebooksDir };
  } catch (err) {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
    throw err;
  } finally {
    await Deno.remove(pidsDir, { recursive: true });
  }
}

Deno.test("SIGKILL of the lab leaves no runner, kernel or engine; the next start marks the run interrupted", async () => {
  const { root, id, notebooksDir } = await scenario((lab) => Deno.kill(lab.pid, "SIGKILL"));
  try {
    assert.equal(
      (await readManifest(join(root, id, "manifest.json"))).status,
      "running",
      "no one could finish it",
    );
    const empty = await Deno.makeTempDir();
    const lines: string[] = [];
    const err = console.error, log = console.log;
    console.error = console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      await main(["--engine", "sim", "--size", "test"], { root, notebooksDir: empty });
    } finally {
      console.error = err;
      console.log = log;
      await Deno.remove(empty, { recursive: true });
    }
    const m = await readManifest(join(root, id, "manifest.json"));
    assert.equal(m.status, "interrupted", lines.join("\n"));
    assert.match(m.error ?? "", new RegExp(`died without finishing it; rerun with --resume ${id}`));
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SIGHUP to the lab's process group (a closed terminal) leaves no process and an interrupted run", async () => {
  const { root, id, notebooksDir } = await scenario((lab) => Deno.kill(-lab.pid, "SIGHUP"));
  try {
    const m = await readManifest(join(root, id, "manifest.json"));
    assert.equal(m.status, "interrupted");
    assert.match(m.error ?? "", /--resume /);
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});
