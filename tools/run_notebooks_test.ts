// Executes the notebooks in tools/testdata with the Deno kernel (a few seconds each): keep these few.
import assert from "node:assert/strict";
import { join } from "node:path";
import { jupyterEnv, jupyterPython, ROOT, runNotebooks } from "./_jupyter.ts";

const TESTDATA = join(ROOT, "tools", "testdata");

type Output = {
  output_type: string;
  text?: string | string[];
  name?: string;
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
};
type Cell = {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
};

const joined = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";

async function readNb(path: string): Promise<Cell[]> {
  return JSON.parse(await Deno.readTextFile(path)).cells;
}

/** A compact, comparable view of one output: its kind and its main text. */
function view(o: Output): string {
  switch (o.output_type) {
    case "stream":
      return `stream:${joined(o.text).trim()}`;
    case "error":
      return `error:${o.ename}: ${o.evalue}`;
    default: {
      const d = o.data ?? {};
      if (d["text/markdown"]) return `markdown:${joined(d["text/markdown"])}`;
      if (d["text/html"]) return `html:${joined(d["text/plain"]).split("\n")[0]}`;
      return `plain:${joined(d["text/plain"])}`;
    }
  }
}

/** What each code cell of testdata/display.ipynb displays, from the way the notebook was written. */
function expectedDisplay(k: number): string[] {
  const t = `cell-${String(k).padStart(2, "0")}`;
  if (k % 5 === 0) {
    return [`stream:${t} log`, `markdown:${t} md`, "html:n" + " ".repeat(String(k).length + 1) + "label"];
  }
  if (k === 7) return [`stream:${t} log`, `markdown:${t} md`, `html:[chart: ${t} chart]`];
  if (k === 9) {
    return [
      `stream:${t} log`,
      `html:${t} progress: 3/3 (100%) finished`,
      `markdown:${t} md`,
      `plain:${t} text`,
    ];
  }
  return [`stream:${t} log`, `markdown:${t} md`, `plain:${t} text`];
}

Deno.test("no output is lost or misplaced across 20 show() cells (no runner drain)", async () => {
  const out = await Deno.makeTempDir({ prefix: "servelab-nb-" });
  try {
    const r = await runNotebooks([join(TESTDATA, "display.ipynb")], { out, drainMs: 0, quiet: true });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /display\.ipynb: ok .*\n1 passed, 0 failed/);
    const code = (await readNb(join(out, "display.ipynb"))).filter((c) => c.cell_type === "code");
    assert.equal(code.length, 20);
    code.forEach((c, i) =>
      assert.deepEqual((c.outputs ?? []).map(view), expectedDisplay(i + 1), `cell ${i + 1}`)
    );
    const html = await Deno.readTextFile(join(out, "display.html"));
    assert.ok(!html.includes("console.log("), "inputs are hidden by default");
    assert.ok(html.includes("cell-07 chart") && html.includes("data:image/svg+xml;base64,"));
    assert.ok(html.includes("&lt;b&gt;x&lt;/b&gt;"), "table cells are escaped");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the runner fails on runtime and syntax errors, passes env parameters, and always exports", async () => {
  const out = await Deno.makeTempDir({ prefix: "servelab-nb-" });
  try {
    const names = ["env_params", "runtime_error", "syntax_error"];
    const r = await runNotebooks(names.map((n) => join(TESTDATA, `${n}.ipynb`)), {
      out,
      quiet: true,
      withInput: true,
      env: { SERVELAB_TEST_GREETING: "<b>hi</b>", SERVELAB_TEST_COUNT: "3" },
    });
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.output,
      /runtime_error\.ipynb: FAILED \(CellExecutionError in cell 2\) Error: boom in cell 2/,
    );
    assert.match(r.output, /syntax_error\.ipynb: FAILED \(CellExecutionError in cell 2\) .*syntax error/);
    assert.match(r.output, /\n1 passed, 2 failed\n/);
    assert.deepEqual(r.summary?.notebooks.map((n) => [n.status, n.cell]), [["ok", null], ["failed", 2], [
      "failed",
      2,
    ]]);
    for (const n of names) {
      for (const ext of ["ipynb", "html"]) assert.ok((await Deno.stat(join(out, `${n}.${ext}`))).size > 0);
    }

    const env = (await readNb(join(out, "env_params.ipynb"))).filter((c) => c.cell_type === "code");
    assert.deepEqual(env[1].outputs?.map(view), ["markdown:greeting &lt;b&gt;hi&lt;/b&gt; x 3"]);

    for (
      const [n, message] of [["runtime_error", /boom in cell 2/], ["syntax_error", /syntax error/]] as const
    ) {
      const cells = await readNb(join(out, `${n}.ipynb`));
      assert.deepEqual(cells[0].outputs?.map(view), ["markdown:before the error"]);
      const errs = (cells[1].outputs ?? []).filter((o) => o.output_type === "error");
      assert.equal(errs.length, 1, `${n}: the failing cell shows one error`);
      assert.match(`${errs[0].ename}: ${errs[0].evalue}`, message);
      assert.deepEqual(cells[2].outputs, [], `${n}: cells after the error do not run`);
      assert.equal(cells[2].execution_count, null);
      const html = await Deno.readTextFile(join(out, `${n}.html`));
      assert.match(html, message);
      assert.ok(html.includes("never shown"), "--with-input keeps the code in the HTML");
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("SIGTERM stops the runner: the kernel is stopped, the partial notebook exported, exit 130", async () => {
  const out = await Deno.makeTempDir({ prefix: "servelab-nb-" });
  const pidFile = join(out, "kernel.pid");
  try {
    const child = new Deno.Command(jupyterPython(), {
      args: [join(ROOT, "tools", "run_notebooks.py"), "--out", out, join(TESTDATA, "slow.ipynb")],
      env: jupyterEnv({ SERVELAB_TEST_PID_FILE: pidFile }),
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let kernelPid: number | undefined;
    for (let i = 0; i < 600 && kernelPid === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      kernelPid = await Deno.readTextFile(pidFile).then(Number).catch(() => undefined);
    }
    assert.ok(kernelPid, "the notebook's first cell wrote the kernel pid");
    await new Promise((r) => setTimeout(r, 300)); // let the second cell start
    child.kill("SIGTERM");
    const { code, stdout } = await child.output();
    const text = new TextDecoder().decode(stdout);
    assert.equal(code, 130, text);
    assert.match(text, /slow\.ipynb: FAILED \(Interrupted in cell 3\)/);
    const state = await Deno.readTextFile(`/proc/${kernelPid}/stat`).then((s) => s.split(" ")[2]).catch(() =>
      "gone"
    );
    assert.ok(state === "gone" || state === "Z", `kernel ${kernelPid} still running (state ${state})`);
    const cells = await readNb(join(out, "slow.ipynb"));
    assert.deepEqual(cells[1].outputs?.map(view), ["stream:waiting"]);
    assert.deepEqual(cells[2].outputs?.map(view), [
      "error:Interrupted: interrupted by a signal; the kernel was stopped",
    ]);
    assert.ok((await Deno.stat(join(out, "slow.html"))).size > 0);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
