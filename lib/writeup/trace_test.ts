import assert from "node:assert/strict";
import { join } from "node:path";
import { writeRunIndex } from "./run_index.ts";
import { openRun } from "../run/run_dir.ts";
import { fixtureRun } from "./_fixture.ts";
import { isNumberToken, numbersOutsideFacts, traceRunDir } from "./trace.ts";
import { buildWriteup, writeWriteupFiles } from "./writeup.ts";

/** The fixture run with its write-up files, a page of the write-up's sections and chart, and its index. */
async function tracedRun() {
  const run = await fixtureRun();
  const w = await buildWriteup(run.dir);
  await writeWriteupFiles(w);
  const body = w.sections.map((s) => s.html.html).join("\n") + (w.chart ? w.chart.html : "");
  await Deno.writeTextFile(
    join(run.dir, "05_writeup.html"),
    `<!doctype html><html><body>${body}</body></html>`,
  );
  await writeRunIndex(await openRun(run.dir));
  return run;
}

Deno.test("every number in the write-up and the index traces to a CSV through facts.json", async () => {
  await using run = await tracedRun();
  assert.deepEqual(await traceRunDir(run.dir), []);
  const index = await Deno.readTextFile(join(run.dir, "index.html"));
  assert.ok((index.match(/class="fact"/g) ?? []).length >= 6, "the index shows its key numbers as facts");
});

Deno.test("the trace catches a hard-coded number, a wrong span and a facts.json value off its CSV", async () => {
  await using run = await tracedRun();
  const page = join(run.dir, "05_writeup.html");
  const html = await Deno.readTextFile(page);
  const span = html.match(/<span class="fact" data-fact="ttft_warm_p50_ms"[^>]*>([^<]*)<\/span>/)!;
  await Deno.writeTextFile(
    page,
    html.replace(span[0], span[0].replace(`>${span[1]}<`, ">12.5 ms<")).replace(
      "</body>",
      "<p>TTFT was 42 ms.</p></body>",
    ),
  );
  const factsPath = join(run.dir, "facts.json");
  const facts = JSON.parse(await Deno.readTextFile(factsPath));
  facts.facts.find((f: { id: string }) => f.id === "batch_c_target").value += 1;
  await Deno.writeTextFile(factsPath, JSON.stringify(facts));
  const problems = await traceRunDir(run.dir);
  const kinds = (k: string) => problems.filter((p) => p.kind === k).map((p) => p.detail);
  assert.ok(kinds("bare_number").some((d) => d.startsWith("42 ")), "the hard-coded 42");
  assert.ok(kinds("span_text").some((d) => d.startsWith("ttft_warm_p50_ms")), "the edited span");
  assert.ok(
    kinds("value_mismatch").some((d) => d.startsWith("batch_c_target")),
    "the edited facts.json value",
  );
});

Deno.test("the number rule: quantities are numbers, identifiers, versions and ids are not", () => {
  for (const t of ["42", "1,234", "12.5", "(95%)", "6.1x", "~3", "4096-token", "12ms", "-3", "5,"]) {
    assert.ok(isNumberToken(t), `${t} is a number`);
  }
  for (
    const t of [
      "p95",
      "H100-80GB",
      "Qwen2.5-1.5B-Instruct",
      "0.11.0+servelab-sim.0.1.0",
      "01_ttft.html",
      "20261128-055714-sim-1e89",
      "x86_64",
      "2026-11-28T05:57:14Z",
    ]
  ) {
    assert.ok(!isNumberToken(t), `${t} is not a number`);
  }
  assert.deepEqual(
    numbersOutsideFacts(
      `<p>ok <code>--port 8000</code> <time>2026</time> <span class="fact" data-fact="a">3 ms</span> bad 7</p>`,
    ),
    ["7 (in: bad 7)"],
  );
});
