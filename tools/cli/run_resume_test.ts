// `./servelab run` end to end, as a user would meet it: Ctrl-C (SIGINT to the lab's process group) in
// the middle of a tier notebook that started an embedded engine, then `--resume`. Generated tier
// notebooks keep it fast (two kernels and one engine per run). Also checks, on the same run folder, that
// an API key from the environment is written nowhere and that a hostile prompt and the server's text
// are escaped in the HTML report.
import assert from "node:assert/strict";
import { join } from "node:path";
import { groupMembers, pidAlive } from "../../lib/engine/process_group.ts";
import { readManifest } from "../../lib/run/manifest.ts";
import { ROOT } from "../_jupyter.ts";

const CANARY = `sk-canary-${crypto.randomUUID()}`;
const HOSTILE = "<img src=x onerror=alert(1)>";
const LIB = "../../../lib";

function cell(id: string, source: string) {
  return { cell_type: "code", id, metadata: {}, outputs: [], execution_count: null, source };
}

function notebook(cells: ReturnType<typeof cell>[]) {
  return {
    cells,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Tier 01: an embedded engine, four points of one request each (E2E_POINT_MS apart), hostile text shown. */
const ALPHA = notebook([
  cell(
    "imports",
    `import { launch } from "${LIB}/engine/mod.ts";
import { createClock, probe } from "${LIB}/probe/mod.ts";
import { collectPoints, runDirFromEnv, runPoints } from "${LIB}/run/mod.ts";
import { md, show, table } from "${LIB}/report/mod.ts";
import { labEnv, serveConfigFor } from "${LIB}/tiers/mod.ts";`,
  ),
  cell(
    "engine",
    `const run = await runDirFromEnv();
const engine = await launch(serveConfigFor(labEnv(), { max_model_len: 2048 }), { log_dir: run.logsDir, log_name: "alpha" });
await Deno.writeTextFile(Deno.env.get("E2E_PIDS") + "/alpha.json", JSON.stringify({ engine: engine.pid, kernel: Deno.pid }));`,
  ),
  cell(
    "measure",
    `const clock = createClock();
const wait = Number(Deno.env.get("E2E_POINT_MS") ?? "0");
const points = [1, 2, 3, 4].map((n) => ({ id: "p" + n, n }));
const s = await runPoints(run, "alpha", points, async (p) => {
  const r = await probe(engine.baseUrl, { endpoint: "completions", model: engine.model, prompt: "point " + p.n, max_tokens: 8 }, { clock, headers: engine.headers() });
  if (!r.ok) throw new Error(r.error_message);
  await new Promise((res) => setTimeout(res, wait));
  return { rows: [{ n: p.n, completion_tokens: r.completion_tokens, request_id: r.request_id }] };
}, { progress: false });
await collectPoints(run, "alpha", { file: "alpha.csv" });`,
  ),
  cell(
    "hostile",
    `const hostile = ${JSON.stringify(HOSTILE)};
const bad = await probe(engine.baseUrl, { endpoint: "completions", model: hostile, prompt: hostile, max_tokens: 4 }, { clock, headers: engine.headers() });
await show(md\`done \${s.done.length} skipped \${s.skipped.length}; prompt \${hostile}; the server said: \${bad.error_message}\`);
await show(table([{ prompt: hostile, server_text: bad.error_message }], { caption: hostile }));
await engine.stop();`,
  ),
]);

/** Tier 02: three points without an engine. */
const BETA = notebook([
  cell(
    "measure",
    `import { collectPoints, runDirFromEnv, runPoints } from "${LIB}/run/mod.ts";
const run = await runDirFromEnv();
const points = [1, 2, 3].map((n) => ({ id: "q" + n, n }));
await runPoints(run, "beta", points, (p) => Promise.resolve({ rows: [{ n: p.n, sq: p.n * p.n }] }), { progress: false });
await collectPoints(run, "beta", { file: "beta.csv" });`,
  ),
]);

/** Tier 03: must not run, `--tiers ttft,prefix` leaves it out. */
const GAMMA = notebook([
  cell("boom", `throw new Error("--tiers ttft,prefix should have left this notebook out");`),
]);

function driver(args: string[], env: Record<string, string>, detached: boolean): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "tools", "testdata", "run_verb_driver.ts"), ...args],
    env,
    stdout: "piped",
    stderr: "piped",
    detached, // detached: the driver leads its own process group, like a shell job a terminal signals
  }).spawn();
}

async function waitForFile(path: string, child: Deno.ChildProcess, ms: number): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !exited) {
    try {
      Deno.statSync(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const out = await child.output().catch(() => undefined);
  const text = out ? new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) : "";
  throw new Error(`${path} did not appear within ${ms} ms (driver exited: ${exited})\n${text}`);
}

async function snapshot(dir: string): Promise<Map<string, { mtime: number; bytes: string }>> {
  const out = new Map<string, { mtime: number; bytes: string }>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const p = join(dir, e.name);
    out.set(e.name, { mtime: Deno.statSync(p).mtime!.getTime(), bytes: await Deno.readTextFile(p) });
  }
  return out;
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await allFiles(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

Deno.test("Ctrl-C mid-notebook leaves no engine or kernel and an interrupted run; --resume finishes it without re-measuring", async () => {
  const notebooksDir = await Deno.makeTempDir({
    dir: join(ROOT, "tools", "testdata"),
    prefix: ".tmp-resume-",
  });
  const root = await Deno.makeTempDir({ prefix: "servelab-resume-" });
  const pids = await Deno.makeTempDir({ prefix: "servelab-resume-pids-" });
  try {
    await Deno.writeTextFile(join(notebooksDir, "01_ttft.ipynb"), JSON.stringify(ALPHA));
    await Deno.writeTextFile(join(notebooksDir, "02_prefix_caching.ipynb"), JSON.stringify(BETA));
    await Deno.writeTextFile(join(notebooksDir, "03_kv_scaling.ipynb"), JSON.stringify(GAMMA));
    const env = {
      E2E_PIDS: pids,
      SERVELAB_API_KEY: CANARY,
      OPENAI_API_KEY: CANARY,
      SERVELAB_API_KEY_ENV: "SERVELAB_API_KEY",
    };
    const flags = ["--engine", "sim", "--size", "test", "--tiers", "ttft,prefix"];

    // 1. Start, and press Ctrl-C once two points are written (each point then waits 1.5 s).
    const first = driver([notebooksDir, root, ...flags], { ...env, E2E_POINT_MS: "1500" }, true);
    const runDir = async () => join(root, (await Array.fromAsync(Deno.readDir(root)))[0].name);
    await waitForFile(join(pids, "alpha.json"), first, 120_000);
    const dir = await runDir();
    await waitForFile(join(dir, "points", "alpha", "p2.json"), first, 60_000);
    Deno.kill(-first.pid, "SIGINT");
    const out1 = await first.output();
    const log1 = new TextDecoder().decode(out1.stdout) + new TextDecoder().decode(out1.stderr);
    assert.equal(out1.code, 130, log1);
    const { engine, kernel } = JSON.parse(Deno.readTextFileSync(join(pids, "alpha.json")));
    assert.ok(!pidAlive(kernel), "the notebook's kernel is gone");
    assert.ok(!pidAlive(engine), "the engine is gone");
    assert.deepEqual(groupMembers(engine), [], "nothing is left in the engine's process group");
    assert.deepEqual(groupMembers(first.pid), [], "nothing is left in the lab's process group");
    const m1 = await readManifest(join(dir, "manifest.json"));
    assert.equal(m1.status, "interrupted");
    assert.match(m1.error ?? "", /--resume /);
    assert.ok(m1.ended_at, "the interrupted run has an end time");
    const id = dir.split("/").at(-1)!;
    assert.match(log1, new RegExp(`interrupted`));

    const alphaDir = join(dir, "points", "alpha");
    const before = await snapshot(alphaDir);
    const finished = [...before.keys()].filter((f) => /^p\d\.json$/.test(f)).map((f) => f.slice(0, -5));
    assert.ok(finished.length >= 2 && finished.length < 4, `finished before Ctrl-C: ${finished}`);
    assert.ok(![...before.keys()].some((f) => f.endsWith(".tmp")), "no temporary file left behind");

    // 2. Resume: finished points untouched (bytes and mtime), the rest measured, the run complete.
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would show in the mtime
    const second = driver([notebooksDir, root, "--resume", id, "--tiers", "ttft,prefix"], {
      ...env,
      E2E_POINT_MS: "0",
    }, false);
    const out2 = await second.output();
    const log2 = new TextDecoder().decode(out2.stdout) + new TextDecoder().decode(out2.stderr);
    assert.equal(out2.code, 0, log2);
    const after = await snapshot(alphaDir);
    for (const id of finished) {
      for (const f of [`${id}.json`, `${id}.csv`]) {
        assert.deepEqual(after.get(f), before.get(f), `${f} was not rewritten`);
      }
    }
    for (const p of ["p1", "p2", "p3", "p4"]) assert.ok(after.has(`${p}.json`), `${p} finished`);
    for (const q of ["q1", "q2", "q3"]) {
      assert.ok(Deno.statSync(join(dir, "points", "beta", `${q}.json`)).isFile);
    }
    const alphaCsv = Deno.readTextFileSync(join(dir, "alpha.csv")).trim().split("\n");
    assert.equal(alphaCsv.length, 5, "alpha.csv has its header and all four points");
    const m2 = await readManifest(join(dir, "manifest.json"));
    assert.equal(m2.status, "complete");
    assert.ok(m2.params.resumed_at);
    assert.ok(
      !(await Array.fromAsync(Deno.readDir(dir))).some((e) => e.name.startsWith("03_kv_scaling")),
      "--tiers",
    );

    // 3. The report page shows the hostile prompt and the server's echo of it as text, never as markup.
    const html = Deno.readTextFileSync(join(dir, "01_ttft.html"));
    assert.match(html, new RegExp(`done ${4 - finished.length} skipped ${finished.length}`));
    assert.ok(html.includes("onerror=alert(1)"), "the hostile text is shown");
    assert.ok(!/<img[^>]*onerror/i.test(html), "no live <img onerror> element in the report");
    assert.match(html, /does not exist/, "the server's error text is shown");

    // 4. The API key from the environment is written nowhere in the run folder.
    const files = await allFiles(dir);
    assert.ok(files.some((f) => f.endsWith(".log")) && files.some((f) => f.endsWith(".ipynb")));
    for (const f of files) {
      assert.ok(!Deno.readTextFileSync(f).includes(CANARY), `${f} holds the API key`);
    }
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
    await Deno.remove(pids, { recursive: true });
  }
});
