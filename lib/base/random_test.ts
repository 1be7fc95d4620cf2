import assert from "node:assert/strict";
import { createRng, gammaSample } from "./random.ts";
import { summarize } from "./stats.ts";

Deno.test("the PRNG repeats for a seed and differs between seeds", () => {
  const a = createRng(1), b = createRng(1), c = createRng(2);
  const xa = Array.from({ length: 5 }, a),
    xb = Array.from({ length: 5 }, b),
    xc = Array.from({ length: 5 }, c);
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
  assert.ok(xa.every((x) => x >= 0 && x < 1));
});

Deno.test("gamma samples have mean shape x scale and CV 1 / sqrt(shape)", () => {
  for (const shape of [0.5, 1, 4]) {
    const rng = createRng(11);
    const xs = Array.from({ length: 20_000 }, () => gammaSample(rng, shape, 2));
    const s = summarize(xs);
    assert.ok(Math.abs(s.mean! / (shape * 2) - 1) < 0.03, `shape ${shape}: mean ${s.mean}`);
    assert.ok(
      Math.abs(s.std! / s.mean! - 1 / Math.sqrt(shape)) < 0.05,
      `shape ${shape}: cv ${s.std! / s.mean!}`,
    );
  }
  assert.throws(() => gammaSample(createRng(0), 0, 1), /must be positive/);
});
