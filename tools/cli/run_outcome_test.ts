// Runs two generated tier notebooks through the run verb (a kernel start each): keep it alone.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_jupyter.ts";
import { readManifest } from "../../lib/run/manifest.ts";
import { main } from "./run.ts";

/** A notebook whose tier's points fail where `fails(n)` says, with a clear message. */
function tierNotebook(tier: string, fails: string): unknown {
  return {
    cells: [{
      cell_type: "code",
      id: "measure",
      metadata: {},
      outputs: [],
      execution_count: null,
      source: [
        'import { runDirFromEnv, runPoints } from "../../../lib/run/mod.ts";\n',
        "const run = await runDirFromEnv();\n",
        `await runPoints(run, "${tier}", [1, 2].map((n) => ({ id: \`p\${n}\`, n })), (p) => {\n`,
        `  if (${fails}) throw new Error(\`Cannot tokenize through /tokenize: HTTP 404 (point \${p.n})\`);\n`,
        "  return Promise.resolve({ rows: [{ n: p.n }] });\n",
        "});",
      ],
    }],
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

Deno.test("a run whose tier failed every point exits 1 with the cause in the terminal, the manifest and the index", async () => {
  const notebooksDir = await Deno.makeTempDir({
    dir: join(ROOT, "tools", "testdata"),
    prefix: ".tmp-outcome-",
  });
  const root = await Deno.makeTempDir({ prefix: "servelab-outcome-" });
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  try {
    await Deno.writeTextFile(
      join(notebooksDir, "01_ttft.ipynb"),
      JSON.stringify(tierNotebook("ttft", "true")),
    );
    await Deno.writeTextFile(
      join(notebooksDir, "02_prefix_caching.ipynb"),
      JSON.stringify(tierNotebook("prefix", "p.n === 2")),
    );
    console.log = console.error = (...a: unknown[]) => lines.push(a.join(" "));
    let code: number;
    try {
      code = await main(["--engine", "sim", "--size", "test"], { notebooksDir, root });
    } finally {
      [console.log, console.error] = [log, err];
    }
    const out = lines.join("\n");
    assert.equal(code, 1, out);
    assert.match(
      out,
      /ttft: failed \(2 of 2 points failed\); first failure p1: Cannot tokenize through \/tokenize: HTTP 404 \(point 1\)/,
    );
    assert.match(out, /prefix: partial \(1 of 2 points failed\); first failure p2: .*point 2/);
    assert.match(out, /finished with failures/);
    assert.doesNotMatch(out, /servelab run: done/);
    assert.match(out, /capabilities: /);
    const dir = lines.at(-1)!.replace(/\/index\.html$/, "");
    const m = await readManifest(join(dir, "manifest.json"));
    assert.equal(m.status, "failed");
    assert.equal(m.tiers?.ttft.status, "failed");
    assert.equal(m.tiers?.prefix.status, "partial");
    assert.match(m.tiers?.ttft.cause ?? "", /HTTP 404 \(point 1\)/);
    assert.equal(m.tiers?.kv, undefined, "a tier whose notebook did not run is not reported");
    assert.equal((m.capabilities as { probed?: boolean } | undefined)?.probed, true);
    const html = await Deno.readTextFile(join(dir, "index.html"));
    assert.match(html, /Cannot tokenize through \/tokenize: HTTP 404 \(point 1\)/);
  } finally {
    await Deno.remove(notebooksDir, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});
