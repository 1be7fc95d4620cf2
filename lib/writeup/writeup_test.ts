import assert from "node:assert/strict";
import { join } from "node:path";
import { parseThresholds } from "../health/thresholds.ts";
import { fixtureRun } from "./_fixture.ts";
import { buildWriteup, writeWriteupFiles } from "./writeup.ts";
import { writeRunIndex } from "./run_index.ts";
import { openRun } from "../run/run_dir.ts";

const page = (w: Awaited<ReturnType<typeof buildWriteup>>) => w.sections.map((s) => s.html.html).join("\n");

Deno.test("the write-up's facts follow the fixture run's data", async () => {
  await using run = await fixtureRun();
  const w = await buildWriteup(run.dir);
  const { ttft, prefix, kv, batching } = w.facts;
  assert.ok(ttft.cold_p50!.value > ttft.warm_p50!.value, "cold TTFT above warm on the fixture");
  assert.ok(ttft.cold_warm!.value > 1);
  assert.ok(prefix.long!.speedup!.value > 1.5, "a long shared prefix is faster with caching");
  assert.ok(Math.abs(prefix.share_none!.speedup!.value - 1) < 0.3, "unshared traffic gains about nothing");
  assert.ok(prefix.cliff_over!.value > prefix.cliff_fits!.value);
  const sweep = Deno.readTextFileSync(join(run.dir, "concurrency_sweep.csv")).split("\n").slice(1).filter(
    Boolean,
  )
    .map((l) => l.split(",")).filter((c) => c.at(-1) === "true");
  const best = sweep.reduce((a, b) => Number(b[7]) > Number(a[7]) ? b : a);
  // One concurrency recommendation: the sweet spot rule (batching_summary.csv); goodput's peak is the ceiling.
  assert.equal(batching.target.concurrency!.value, 32, "target is the sweet spot");
  assert.equal(batching.ceiling!.value, Number(best[3]), "the ceiling is the row with the most goodput");
  assert.ok(batching.ceiling!.value > batching.target.concurrency!.value, "the fixture's two numbers differ");
  assert.ok(kv.rows.length >= 3);
  assert.ok(kv.safe_len_concurrency!.value >= batching.target.concurrency!.value);
  assert.match(w.title, /SIMULATED/);
  assert.match(page(w), /<strong>SIMULATED\.<\/strong>/);
});

Deno.test("the write-up, the run index and the rules of thumb name one concurrency: the sweet spot, the goodput peak as the ceiling", async () => {
  await using run = await fixtureRun();
  const w = await buildWriteup(run.dir);
  const html = page(w);
  assert.doesNotMatch(html, /where goodput peaked|near the goodput peak|concurrency target \(goodput peak\)/);
  const rules = w.sections.find((s) => s.id === "rules")!.html.html;
  assert.match(rules, /at the sweet spot \(<span class="fact" data-fact="batch_c_target"[^>]*>32<\/span>/);
  assert.match(
    rules,
    /goodput's peak \(<span class="fact" data-fact="batch_c_ceiling"[^>]*>64<\/span>\) is the ceiling/,
  );
  await writeWriteupFiles(w);
  await writeRunIndex(await openRun(run.dir));
  const index = await Deno.readTextFile(join(run.dir, "index.html"));
  assert.match(index, /concurrency target \(sweet spot\)/);
  assert.match(index, /data-fact="batch_c_target"[^>]*>32</, "the index shows the same fact");
  assert.doesNotMatch(index, /goodput peak\)/);
});

Deno.test("the derived thresholds file parses, its TTFT limit is twice the measured p95 at the canary", async () => {
  await using run = await fixtureRun();
  const w = await buildWriteup(run.dir);
  const paths = await writeWriteupFiles(w);
  const t = parseThresholds(await Deno.readTextFile(paths[1]), "thresholds.json");
  assert.equal(t.derived_from?.simulated, true);
  const ttft = t.checks.find((c) => c.id === "ttft_p95_ms")!;
  const measured = w.book.facts.get("canary_ttft_p95_ms_max")!.value;
  assert.equal(ttft.value, Math.ceil(measured * 2));
  assert.ok(t.canary.concurrency <= 4 && t.canary.prompt_tokens > 0);
  const dash = JSON.parse(await Deno.readTextFile(paths[2]));
  assert.ok(JSON.stringify(dash).includes("vllm:"), "the dashboard queries vLLM's metric names");
  const facts = JSON.parse(await Deno.readTextFile(paths[0]));
  assert.equal(facts.facts.length, w.book.facts.size);
});

Deno.test("a missing tier CSV is said to be missing, and the rest of the write-up still fills", async () => {
  await using run = await fixtureRun();
  await Deno.remove(join(run.dir, "concurrency_sweep.csv"));
  await Deno.remove(join(run.dir, "ttft.csv"));
  await Deno.writeTextFile(join(run.dir, "01_ttft.ipynb"), "{}");
  const w = await buildWriteup(run.dir);
  assert.equal(w.data.status.ttft, "no_data");
  assert.equal(w.data.status.batching, "not_run");
  const html = page(w);
  assert.match(html, /Not measured:<\/strong> the Time to first token tier left no data/);
  assert.match(html, /the tier failed, or was skipped on this engine/);
  assert.match(html, /its notebook did not run/);
  assert.ok(w.thresholds.generic, "no batching data: generic thresholds");
  assert.ok(w.facts.prefix.long?.speedup, "the prefix tier's facts are still there");
  assert.ok(w.chart, "the KV chart stands in for the batching chart");
});

Deno.test("hostile text from the manifest is escaped in every section", async () => {
  await using run = await fixtureRun();
  const mpath = join(run.dir, "manifest.json");
  const m = JSON.parse(await Deno.readTextFile(mpath));
  m.model = `<img src=x onerror="alert(1)"></script><script>alert(2)</script>`;
  m.host.os = "<b>os</b>";
  await Deno.writeTextFile(mpath, JSON.stringify(m));
  const html = page(await buildWriteup(run.dir));
  assert.ok(!html.includes("<img src=x"), "no injected img");
  assert.ok(!html.includes("<script>"), "no injected script");
  assert.ok(html.includes("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"));
  assert.ok(html.includes("&lt;b&gt;os&lt;/b&gt;"));
});

Deno.test("a run folder with no tier data gives a write-up that says so for every tier", async () => {
  await using run = await fixtureRun();
  for await (const e of Deno.readDir(run.dir)) {
    if (e.name.endsWith(".csv")) await Deno.remove(join(run.dir, e.name));
  }
  const w = await buildWriteup(run.dir);
  const html = page(w);
  assert.equal(
    (html.match(/Not measured:<\/strong>/g) ?? []).length,
    5,
    "four tiers in observations, KV table",
  );
  assert.equal(w.chart, undefined);
  assert.ok(w.thresholds.generic);
  assert.ok(w.book.facts.size > 0 && [...w.book.facts.keys()].every((k) => k.startsWith("env_")));
});
