import assert from "node:assert/strict";
import type { Fact } from "../../report/fact.ts";
import type { PrefixFacts } from "./facts.ts";
import { prefixQuestions, prefixUnsharedText } from "./questions.ts";
import { prefixUniqueText } from "./writeup.ts";

const fact = (id: string, value: number, unit = ""): Fact => ({
  id,
  label: id,
  value,
  unit,
  source: { file: "prefix_cache_runs.csv", column: "x", stat: "max" },
});

Deno.test("unique prompts with no hit: a 0.5x ratio is noise, never 'gain nothing (0.5x)' (the statement the data contradicted)", () => {
  const text = prefixUniqueText(0.5, 0);
  assert.doesNotMatch(text, /gain nothing/);
  assert.match(text, /cannot gain: hit rate 0 %/);
  assert.match(text, /not an effect of caching/);
  const html = prefixUnsharedText({ speedup: fact("s0", 0.5, "x") }, fact("h0", 0, "%")).html;
  assert.match(html, /not an effect of caching/);
  assert.match(
    prefixUniqueText(1.8, 0.4),
    /changed by 1\.8x/,
    "with hits, the ratio is reported as a change",
  );
});

Deno.test("prefix answers 6-11, each standing alone; a missing on/off pair says not measured", () => {
  const p: PrefixFacts = {
    long_tokens: fact("lt", 2048, "tokens"),
    long: { on: fact("on", 20, "ms"), off: fact("off", 190, "ms"), speedup: fact("sp", 9.5, "x") },
    long_tok_s_on: fact("ton", 120, "tok/s"),
    long_tok_s_off: fact("toff", 35, "tok/s"),
    runs: fact("runs", 20),
    runs_client_bad: fact("bad", 20),
  };
  const qs = prefixQuestions(p, {});
  assert.deepEqual(qs.map((q) => q.n), [6, 7, 8, 9, 10, 11]);
  const q8 = qs.find((q) => q.n === 8)!.answer.html;
  assert.match(q8, /data-fact="ton"/, "tok/s with caching on is cited");
  assert.match(q8, /failed the client self-check/, "invalid runs are named");
  assert.match(prefixQuestions({}, {}).find((q) => q.n === 8)!.answer.html, /Not measured/);
});
