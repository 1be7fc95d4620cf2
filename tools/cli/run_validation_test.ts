// `./servelab run` checks every argument, knob and data file before a run folder exists; `--resume`
// refuses a run whose defining parameters differ (named), runs only inside the reports folder, and takes
// the run's lock (a live owner refuses, a dead one's lock is recovered); a run left `running` by a lab
// that died is marked interrupted on the next start. No notebook runs here.
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLock } from "../../lib/run/lock.ts";
import { readManifest, updateManifest } from "../../lib/run/manifest.ts";
import { main, parseRunArgs } from "./run.ts";

async function quietly(fn: () => Promise<number>): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await fn(), text: lines.join("\n") };
  } finally {
    [console.log, console.error] = [log, err];
  }
}

/** Runs `fn` with environment variables set (undefined: unset), restoring them after. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const prev = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const set = (k: string, v: string | undefined) => v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  for (const [k, v] of Object.entries(vars)) set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(prev)) set(k, v);
  }
}

async function dirs(): Promise<{ root: string; notebooksDir: string; done: () => Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "servelab-val-" });
  const notebooksDir = await Deno.makeTempDir();
  return {
    root,
    notebooksDir,
    done: async () => {
      await Deno.remove(root, { recursive: true });
      await Deno.remove(notebooksDir, { recursive: true });
    },
  };
}

Deno.test("bad knobs, a tiny timeout and a missing vLLM are refused before a run folder exists", async () => {
  assert.throws(() => parseRunArgs(["--timeout", "0.001"]), /--timeout '0\.001' must be .* at least 1/);
  const { root, notebooksDir, done } = await dirs();
  try {
    const cases: [Record<string, string | undefined>, string[], RegExp][] = [
      [{ SERVELAB_TTFT_WARM_REQUESTS: "-3" }, ["--engine", "sim"], /SERVELAB_TTFT_WARM_REQUESTS/],
      [{ SERVELAB_TTFT_WARM_REQUESTS: "lots" }, ["--engine", "sim"], /SERVELAB_TTFT_WARM_REQUESTS/],
      [{ SERVELAB_SEED: "abc" }, ["--engine", "sim"], /SERVELAB_SEED='abc' is not valid/],
      [{ SERVELAB_SIM_GPU: "H900" }, ["--engine", "sim"], /Unknown GPU profile 'H900'/],
      [{}, ["--engine", "sim", "--model", "no/such-model"], /Unknown model 'no\/such-model'/],
      [
        { SERVELAB_VLLM_BIN: undefined, PATH: "/nonexistent" },
        ["--engine", "vllm"],
        /Engine 'vllm' needs vLLM, but no 'vllm' is on PATH and SERVELAB_VLLM_BIN is not set/,
      ],
    ];
    for (const [env, args, want] of cases) {
      const r = await withEnv(env, () => quietly(() => main(args, { root, notebooksDir })));
      assert.equal(r.code, 1, r.text);
      assert.match(r.text, want);
      assert.deepEqual([...Deno.readDirSync(root)], [], `no run folder for ${JSON.stringify(env)} ${args}`);
    }
  } finally {
    await done();
  }
});

Deno.test("--resume accepts only a run inside the reports folder, and writes nothing outside it", async () => {
  const { root, notebooksDir, done } = await dirs();
  const elsewhere = await Deno.makeTempDir();
  try {
    const made = await quietly(() =>
      main(["--engine", "sim", "--size", "test"], { root: elsewhere, notebooksDir })
    );
    assert.equal(made.code, 0, made.text);
    const id = [...Deno.readDirSync(elsewhere)].find((e) => e.isDirectory)!.name;
    Deno.removeSync(join(elsewhere, "index.html"));
    const r = await quietly(() => main(["--resume", join(elsewhere, id)], { root, notebooksDir }));
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, /is not a run folder inside the reports folder .*pass --reports DIR/);
    assert.ok(!Deno.readDirSync(elsewhere).some((e) => e.name === "index.html"), "no index written outside");
    // With --reports naming that folder, it resumes.
    const ok = await quietly(() => main(["--resume", id, "--reports", elsewhere], { root, notebooksDir }));
    assert.equal(ok.code, 0, ok.text);
  } finally {
    await done();
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("--resume refuses a different model, size, seed, knob or data file, naming each", async () => {
  const { root, notebooksDir, done } = await dirs();
  try {
    const made = await withEnv(
      { SERVELAB_SEED: "7", SERVELAB_TTFT_WARM_REQUESTS: "5" },
      () => quietly(() => main(["--engine", "sim", "--size", "test"], { root, notebooksDir })),
    );
    assert.equal(made.code, 0, made.text);
    const id = [...Deno.readDirSync(root)].find((e) => e.isDirectory)!.name;
    const m = await readManifest(join(root, id, "manifest.json"));
    assert.equal(m.params["env.SERVELAB_SEED"], "7");
    const refused = await withEnv(
      { SERVELAB_SEED: "8", SERVELAB_TTFT_WARM_REQUESTS: undefined },
      () =>
        quietly(() =>
          main(["--resume", id, "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--size", "default"], {
            root,
            notebooksDir,
          })
        ),
    );
    assert.equal(refused.code, 1, refused.text);
    assert.match(refused.text, /Cannot resume run .*: it was measured with other parameters/);
    assert.match(refused.text, /- model: the run used '.*', now 'Qwen\/Qwen2\.5-0\.5B-Instruct'/);
    assert.match(refused.text, /- size: the run used 'test', now 'default'/);
    assert.match(refused.text, /- SERVELAB_SEED: the run had '7', now '8'/);
    assert.match(refused.text, /- SERVELAB_TTFT_WARM_REQUESTS: the run had '5', now unset/);
    // A data file whose hash differs from the manifest's.
    await updateManifest(join(root, id, "manifest.json"), (x) => ({
      ...x,
      inputs: x.inputs.map((h, i) => i === 0 ? { ...h, sha256: "0".repeat(64) } : h),
    }));
    const changed = await withEnv(
      { SERVELAB_SEED: "7", SERVELAB_TTFT_WARM_REQUESTS: "5" },
      () => quietly(() => main(["--resume", id], { root, notebooksDir })),
    );
    assert.equal(changed.code, 1, changed.text);
    assert.match(
      changed.text,
      new RegExp(`- ${m.inputs[0].path.replaceAll(".", "\\.")}: changed since the run`),
    );
  } finally {
    await done();
  }
});

Deno.test("a live lab's lock refuses a second lab on the run; a dead one's is recovered; a dead running run becomes interrupted", async () => {
  const { root, notebooksDir, done } = await dirs();
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const made = await quietly(() => main(["--engine", "sim", "--size", "test"], { root, notebooksDir }));
    assert.equal(made.code, 0, made.text);
    const id = [...Deno.readDirSync(root)].find((e) => e.isDirectory)!.name;
    const dir = join(root, id);
    assert.equal(readLock(dir), undefined, "the lock is released when the run ends");
    // Another lab (a live pid) holds the run.
    Deno.writeTextFileSync(join(dir, ".lock"), JSON.stringify({ pid: sleeper.pid, started_at: "t" }));
    const busy = await quietly(() => main(["--resume", id], { root, notebooksDir }));
    assert.equal(busy.code, 1, busy.text);
    assert.match(busy.text, new RegExp(`is in use by another lab \\(pid ${sleeper.pid}`));
    // That lab dies (SIGKILL) with its run at `running`: the next start marks the run interrupted and
    // recovers the lock.
    await updateManifest(
      join(dir, "manifest.json"),
      (x) => ({ ...x, status: "running", ended_at: undefined }),
    );
    sleeper.kill("SIGKILL");
    await sleeper.status;
    const other = await quietly(() => main(["--engine", "sim", "--size", "test"], { root, notebooksDir }));
    assert.equal(other.code, 0, other.text);
    assert.match(
      other.text,
      new RegExp(`run ${id} was left 'running' by a lab that died; marked it interrupted`),
    );
    const m = await readManifest(join(dir, "manifest.json"));
    assert.equal(m.status, "interrupted");
    assert.match(m.error ?? "", new RegExp(`its lab \\(pid ${sleeper.pid}\\) died .*--resume ${id}`));
    const again = await quietly(() => main(["--resume", id], { root, notebooksDir }));
    assert.equal(again.code, 0, again.text);
    assert.equal((await readManifest(join(dir, "manifest.json"))).status, "complete");
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch { /* gone */ }
    await sleeper.status;
    await done();
  }
});
