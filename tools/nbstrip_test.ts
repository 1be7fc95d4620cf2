import assert from "node:assert/strict";
import { join } from "node:path";
import { main, nbformatJson } from "./nbstrip.ts";

function executedNotebook() {
  return {
    cells: [
      { cell_type: "markdown", id: "m1", metadata: {}, source: ["# Title\n"] },
      {
        cell_type: "code",
        id: "c1",
        execution_count: 3,
        metadata: { tags: ["parameters"], execution: { "iopub.status.busy": "2026-11-28T10:00:00Z" } },
        outputs: [{ output_type: "stream", name: "stdout", text: ["secret result\n"] }],
        source: ["const P = 1;\n", "await show(P);"],
      },
    ],
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = orig;
  }
}

Deno.test("nbstrip --check names notebooks with outputs; stripping clears them and keeps tags", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nbPath = join(dir, "01_ttft.ipynb");
    await Deno.writeTextFile(nbPath, JSON.stringify(executedNotebook(), null, 2));
    await Deno.mkdir(join(dir, ".ipynb_checkpoints"));
    await Deno.writeTextFile(join(dir, ".ipynb_checkpoints", "01_ttft-checkpoint.ipynb"), "not even json");

    const check = await quietly(() => main(["--check", dir]));
    assert.equal(check.value, 1);
    assert.match(
      check.lines[0],
      /01_ttft\.ipynb: has outputs in cell\(s\) 2; execution counts in cell\(s\) 2; timing/,
    );

    assert.equal((await quietly(() => main([dir]))).value, 0);
    const text = await Deno.readTextFile(nbPath);
    assert.ok(!text.includes("secret result"));
    const nb = JSON.parse(text);
    assert.deepEqual(nb.cells[1].outputs, []);
    assert.equal(nb.cells[1].execution_count, null);
    assert.deepEqual(nb.cells[1].metadata, { tags: ["parameters"] });
    assert.deepEqual(nb.cells[1].source, ["const P = 1;\n", "await show(P);"]);
    assert.equal(text, nbformatJson(nb), "nbformat layout: sorted keys, 1-space indent, newline at end");
    assert.ok(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",'));

    const recheck = await quietly(() => main(["--check", dir]));
    assert.equal(recheck.value, 0);
    assert.deepEqual(recheck.lines, ["1 notebook(s) without outputs"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
