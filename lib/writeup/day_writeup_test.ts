/**
 * day_writeup.md and new_node_checklist.md on the fixture run: the seed's Logging Template headings word for
 * word and in order, its 20 questions numbered as there each with an answer, the checklist ticked with
 * evidence or open with the reason, and the provenance check covering both files.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BatchingFacts } from "../tiers/mod.ts";
import { fixtureRun } from "./_fixture.ts";
import { memoryText } from "./advice.ts";
import { TEMPLATE_HEADINGS } from "./day_template.ts";
import { SEED_QUESTIONS } from "./questions.ts";
import { markdownNumbersOutsideFacts, traceRunDir } from "./trace.ts";
import { buildWriteup, writeWriteupFiles } from "./writeup.ts";

Deno.test("day_writeup.md: the template's headings in order, the 20 seed questions answered, every number a fact", async () => {
  await using run = await fixtureRun();
  await writeWriteupFiles(await buildWriteup(run.dir));
  const md = await Deno.readTextFile(join(run.dir, "day_writeup.md"));
  const h2 = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(h2.slice(0, 5), [...TEMPLATE_HEADINGS], "the Logging Template's headings first, in order");
  assert.ok(h2.includes("Feynman / Consulting Deliverable") && h2.includes("Rules of thumb"));
  const rules = md.split("## Rules of thumb")[1].split("\n## ")[0];
  const n = (rules.match(/^\d+\. /gm) ?? []).length;
  assert.ok(n >= 3 && n <= 5, `3-5 rules of thumb, got ${n}`);
  const qs = md.split("## Check Your Learning")[1].split("\n## ")[0];
  for (const q of SEED_QUESTIONS) {
    const at = qs.indexOf(`${q.n}. **<span class="seed">${q.text}</span>**`);
    assert.ok(at >= 0, `question ${q.n} numbered as in the seed, word for word`);
    const answer = qs.slice(at).split("\n\n")[1] ?? "";
    assert.ok(
      answer.trim().length > 40 && !/Not answered by this run/.test(answer),
      `question ${q.n} answered`,
    );
  }
  const problems = await traceRunDir(run.dir);
  assert.deepEqual(
    problems.filter((p) => p.file.endsWith(".md")),
    [],
    "the markdown passes the provenance check",
  );
  assert.deepEqual(problems.filter((p) => p.file === "facts.json"), []);
});

Deno.test("the provenance check reads markdown: a bare number or a fact span with the wrong text is found", async () => {
  assert.deepEqual(markdownNumbersOutsideFacts("- `code 12` and [01_ttft.html](01_ttft.html)\n1. fine"), []);
  assert.equal(markdownNumbersOutsideFacts("- TTFT was 12 ms").length, 1);
  await using run = await fixtureRun();
  await writeWriteupFiles(await buildWriteup(run.dir));
  const path = join(run.dir, "day_writeup.md");
  const md = await Deno.readTextFile(path);
  await Deno.writeTextFile(
    path,
    md.replace(/(data-fact="ttft_warm_p50_ms">)[^<]+</, "$1999 ms<") + "\nWarm TTFT was 42 ms.\n",
  );
  const kinds = (await traceRunDir(run.dir)).filter((p) => p.file === "day_writeup.md").map((p) => p.kind);
  assert.ok(kinds.includes("span_text") && kinds.includes("bare_number"), kinds.join(", "));
});

Deno.test("new_node_checklist.md ticks what the run measured and leaves the rest open with the reason", async () => {
  await using run = await fixtureRun();
  await writeWriteupFiles(await buildWriteup(run.dir));
  const full = await Deno.readTextFile(join(run.dir, "new_node_checklist.md"));
  assert.equal((full.match(/^- \[x\] /gm) ?? []).length, 6, "every box ticked on a full run");
  assert.match(full, /sweet spot <span class="fact" data-fact="batch_c_target">32</);
  await Deno.remove(join(run.dir, "concurrency_sweep.csv"));
  await Deno.remove(join(run.dir, "batching_summary.csv"));
  await writeWriteupFiles(await buildWriteup(run.dir));
  const cut = await Deno.readTextFile(join(run.dir, "new_node_checklist.md"));
  assert.match(cut, /^- \[ \] <span class="seed">Run a small micro-batching/m);
  assert.match(
    cut,
    /Not measured: the batching tier its notebook did not run|Not measured: the batching tier/,
  );
  assert.deepEqual((await traceRunDir(run.dir)).filter((p) => p.file.endsWith(".md")), []);
});

Deno.test("unmeasured KV usage gives 'not measured', never 'memory was a limit' (the statement advice.ts made)", () => {
  const none = { one: {}, target: {}, top: {} } as BatchingFacts;
  const text = memoryText(none).html;
  assert.match(text, /not measured/);
  assert.doesNotMatch(text, /memory was a limit/);
});
