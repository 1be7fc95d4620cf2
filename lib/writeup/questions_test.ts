import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { h } from "../report/html.ts";
import { TIERS } from "../tiers/mod.ts";
import { SEED_QUESTIONS, seedAnswers } from "./questions.ts";

const SEED = fileURLToPath(new URL("../../docs/seed/day-007.md", import.meta.url));

Deno.test("the 20 questions are the seed's, word for word and numbered as there", async () => {
  const seed = await Deno.readTextFile(SEED);
  const part = seed.slice(seed.indexOf("## Check Your Learning"));
  const want = [...part.matchAll(/^(\d+)\. (.+)$/gm)].map((m) => ({
    n: Number(m[1]),
    text: m[2].replaceAll("**", "").replaceAll("`", ""),
  }));
  assert.equal(want.length, 20);
  assert.deepEqual(SEED_QUESTIONS.map(({ n, text }) => ({ n, text })), want);
});

Deno.test("seedAnswers keeps the seed's order, takes a tier's answers and says which are not answered", () => {
  const toy = { ...TIERS[0], questions: () => [{ n: 2, answer: h`about 3x` }] };
  const all = seedAnswers([toy], { ttft: {} });
  assert.deepEqual(all.map((q) => q.n), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(all[1].answered, true);
  assert.equal(all[1].answer.html, "about 3x");
  assert.equal(all[0].answered, false);
  assert.match(all[0].answer.html, /Not answered by this run/);
  const one = seedAnswers([toy], { ttft: {} }, { only: "ttft" });
  assert.deepEqual(one.map((q) => q.n), [1, 2, 3, 4, 5]);
  const extra = seedAnswers([toy], { ttft: {} }, { extra: [{ n: 20, answer: h`a config` }] });
  assert.equal(extra[19].answered, true);
});
