// Runs a generated one-notebook "tier" through the run verb twice (a kernel start each): keep it alone.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_jupyter.ts";
import { readManifest } from "../../lib/run/manifest.ts";
import { main, parseRunArgs } from "./run.ts";

const TIER = {
  cells: [
    {
      cell_type: "code",
      id: "params",
      metadata: { tags: ["parameters"] },
      outputs: [],
      execution_count: null,
      source: [
        'import { z } from "zod";\n',
        'import { collectPoints, runDirFromEnv, runPoints } from "../../../lib/run/mod.ts";\n',
        'import { md, show } from "../../../lib/report/mod.ts";\n',
        'const P = z.object({ SERVELAB_ENGINE: z.string(), SERVELAB_SIZE: z.enum(["default", "test"]) })\n',
        "  .parse(Deno.env.toObject());",
      ],
    },
    {
      cell_type: "code",
      id: "measure",
      metadata: {},
      outputs: [],
      execution_count: null,
      source: [
        "const run = await runDirFromEnv();\n",
        "const points = [1, 2, 3].map((n) => ({ id: `n${n}`, n }));\n",
        'const s = await runPoints(run, "probe", points, (p) => Promise.resolve({ rows: [{ n: p.n, sq: p.n * p.n }] }));\n',
        'const c = await collectPoints(run, "probe", { file: "probe.csv" });\n',
        "await show(md`engine ${P.SERVELAB_ENGINE} size ${P.SERVELAB_SIZE} done ${s.done.length} skipped ${s.skipped.length} rows ${c.rows}`);",
      ],
    },
  ],
  metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
  nbformat: 4,
  nbformat_minor: 5,
};

async function shown(path: string): Promise<string> {
  const nb = JSON.parse(await Deno.readTextFile(path));
  const out = nb.cells[1].outputs.find((o: { data?: Record<string, string[]> }) => o.data?.["text/markdown"]);
  return out ? [out.data["text/markdown"]].flat().join("") : JSON.stringify(nb.cells[1].outputs);
}

async function quietly(fn: () => Promise<number>): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { code: await fn(), lines };
  } finally {
    [console.log, console.error] = [log, err];
  }
}

Deno.test("run executes the tier notebooks into a run folder with an index, and --resume skips done points", async () => {
  // inside the repo, so the notebook finds deno.json (imports map) from its folder
  const notebooksDir = await Deno.makeTempDir({ dir: join(ROOT, "tools", "testdata"), prefix: ".tmp-run-" });
  const root = await Deno.makeTempDir({ prefix: "servelab-runs-" });
  try {
    await Deno.writeTextFile(join(notebooksDir, "01_probe.ipynb"), JSON.stringify(TIER));
    await Deno.writeTextFile(join(notebooksDir, "notes.ipynb"), "{}"); // not a tier notebook: ignored
    const first = await quietly(() => main(["--engine", "sim", "--size", "test"], { notebooksDir, root }));
    assert.equal(first.code, 0, first.lines.join("\n"));
    const index = first.lines.at(-1)!;
    assert.match(index, /\/\d{8}-\d{6}-sim-[0-9a-f]{4}\/index\.html$/);
    const dir = index.replace(/\/index\.html$/, "");
    const html = await Deno.readTextFile(index);
    assert.ok(
      html.includes("SIMULATED") && html.includes('href="01_probe.html"') &&
        html.includes('href="probe.csv"'),
    );
    assert.equal(await shown(join(dir, "01_probe.ipynb")), "engine sim size test done 3 skipped 0 rows 3");
    assert.equal((await Deno.readTextFile(join(dir, "probe.csv"))).split("\n")[0], "point_id,n,sq");
    const m = await readManifest(join(dir, "manifest.json"));
    assert.equal(m.status, "complete");
    assert.deepEqual([m.engine.kind, m.params.size], ["sim", "test"]);

    const id = dir.split("/").at(-1)!;
    const again = await quietly(() => main(["--resume", id], { notebooksDir, root }));
    assert.equal(again.code, 0, again.lines.join("\n"));
    assert.equal(await shown(join(dir, "01_probe.ipynb")), "engine sim size test done 0 skipped 3 rows 3");
    assert.ok((await readManifest(join(dir, "manifest.json"))).params.resumed_at);
    const wrong = await quietly(() => main(["--resume", id, "--engine", "vllm"], { notebooksDir, root }));
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.lines.join("\n"),
      /Cannot resume run .*Differences:\n {2}- engine: the run used 'sim', now 'vllm'/,
    );
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run with no tier notebooks writes the manifest and index and says so", async () => {
  const notebooksDir = await Deno.makeTempDir();
  const root = await Deno.makeTempDir();
  const prev = Deno.env.get("SERVELAB_VLLM_BIN");
  Deno.env.set("SERVELAB_VLLM_BIN", "/bin/false"); // vLLM "installed": nothing starts it here
  try {
    const r = await quietly(() => main(["--engine", "vllm"], { notebooksDir, root }));
    assert.equal(r.code, 0);
    assert.ok(r.lines.some((l) => l.includes("no tier notebooks yet")));
    const html = await Deno.readTextFile(r.lines.at(-1)!);
    assert.ok(html.includes("No notebook reports in this run.") && !html.includes("SIMULATED"));
  } finally {
    if (prev === undefined) Deno.env.delete("SERVELAB_VLLM_BIN");
    else Deno.env.set("SERVELAB_VLLM_BIN", prev);
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("run arguments are checked with messages naming the flag", () => {
  assert.deepEqual(parseRunArgs(["--engine=sim", "--force", "--resume", "r1"]), {
    engine: "sim",
    force: true,
    resume: "r1",
    timeout_s: 1800,
    help: false,
  });
  assert.throws(
    () => parseRunArgs(["--engine", "tgi"]),
    /--engine 'tgi' is not an engine; use vllm, sim, llamacpp or external/,
  );
  assert.throws(
    () => parseRunArgs(["--size", "huge"]),
    /--size 'huge' is not a size; use default, test or teach/,
  );
  assert.equal(parseRunArgs(["--size", "teach"]).size, "teach", "the live-session size (issue 17)");
  assert.throws(() => parseRunArgs(["--model"]), /--model needs a value/);
  assert.throws(() => parseRunArgs(["--nope"]), /Unknown option '--nope'/);
  assert.equal(parseRunArgs(["--url", "http://127.0.0.1:8000"]).url, "http://127.0.0.1:8000");
  assert.throws(
    () => parseRunArgs(["--url", "127.0.0.1:8000"]),
    /--url '127.0.0.1:8000' is not an http\(s\) URL/,
  );
});

Deno.test("run refuses an external engine without a URL and a URL without the external engine", async () => {
  const root = await Deno.makeTempDir({ prefix: "run-url-" });
  try {
    const noUrl = await quietly(() => main(["--engine", "external"], { root }));
    assert.equal(noUrl.code, 1);
    assert.match(noUrl.lines.join("\n"), /needs the server's URL: pass --url/);
    const stray = await quietly(() => main(["--engine", "sim", "--url", "http://127.0.0.1:9"], { root }));
    assert.equal(stray.code, 1);
    assert.match(stray.lines.join("\n"), /--url is for engine 'external'/);
    assert.deepEqual([...Deno.readDirSync(root)], [], "no run folder for a refused run");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
