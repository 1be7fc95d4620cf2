import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./_jupyter.ts";
import { checkNotebook, mapLocations, notebookModule } from "./nbcheck.ts";

Deno.test("nbcheck maps a type error back to the notebook cell and line", async () => {
  const dir = await Deno.makeTempDir({ dir: join(ROOT, "tools", "testdata") });
  try {
    const nbPath = join(dir, "typed.ipynb");
    const cells = [
      { cell_type: "markdown", metadata: {}, source: "# t" },
      { cell_type: "code", metadata: {}, source: "const n: number = 1;", outputs: [], execution_count: null },
      {
        cell_type: "code",
        metadata: {},
        source: "const ok = n + 1;\nconst s: string = n;\nconsole.log(ok, s);",
      },
    ];
    await Deno.writeTextFile(nbPath, JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }));
    const r = await checkNotebook(nbPath);
    assert.equal(r.ok, false);
    assert.match(r.output, /TS2322/);
    assert.match(r.output, /typed\.ipynb cell 3 line 2:7/);
    for await (const e of Deno.readDir(dir)) {
      assert.ok(!e.name.endsWith(".nbcheck.ts"), "the .ts file is removed");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nbcheck passes the display test notebook and reports the syntax error one", async () => {
  assert.deepEqual(await checkNotebook(join(ROOT, "tools", "testdata", "display.ipynb")), {
    ok: true,
    output: "",
  });
  const bad = await checkNotebook(join(ROOT, "tools", "testdata", "syntax_error.ipynb"));
  assert.equal(bad.ok, false);
  assert.match(bad.output, /syntax_error\.ipynb cell 2 line 1:16/);
});

Deno.test("notebookModule keeps a line map from module lines to cells", () => {
  const { text, lineMap } = notebookModule([
    { cell_type: "code", source: ["a\n", "b"] },
    { cell_type: "markdown", source: "x" },
    { cell_type: "code", source: "c" },
  ], "n.ipynb");
  assert.equal(text, "// n.ipynb cell 1\na\nb\n// n.ipynb cell 3\nc\nexport {};\n");
  assert.deepEqual(lineMap[2], { cell: 1, line: 2 });
  assert.deepEqual(lineMap[4], { cell: 3, line: 1 });
  assert.equal(
    mapLocations("at file:///x/n.nbcheck.ts:5:3", "n.nbcheck.ts", "nb/n.ipynb", lineMap),
    "at nb/n.ipynb cell 3 line 1:3",
  );
});
