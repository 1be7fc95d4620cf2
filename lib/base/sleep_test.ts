import assert from "node:assert/strict";
import { abortableSleep } from "./sleep.ts";

Deno.test("abortableSleep resolves true after the time, false at once when aborted before or during", async () => {
  let t0 = performance.now();
  assert.equal(await abortableSleep(20), true);
  assert.ok(performance.now() - t0 >= 19, "slept about the time asked");

  const ac = new AbortController();
  t0 = performance.now();
  const pending = abortableSleep(5_000, ac.signal);
  setTimeout(() => ac.abort(), 10);
  assert.equal(await pending, false);
  assert.ok(performance.now() - t0 < 2_000, "the abort cut the sleep short");

  assert.equal(await abortableSleep(5_000, ac.signal), false, "an aborted signal returns at once");
  assert.equal(await abortableSleep(0), true);
  assert.equal(await abortableSleep(-3, new AbortController().signal), true);
});
