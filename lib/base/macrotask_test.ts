import assert from "node:assert/strict";
import { macrotaskYielder } from "./macrotask.ts";

Deno.test("a macrotask yield lets a due timer run first, and serves its waiters in order", async () => {
  const y = macrotaskYielder();
  const seen: string[] = [];
  setTimeout(() => seen.push("timer"), 0);
  await new Promise((r) => setTimeout(r, 5)); // the timer is due, not yet necessarily run
  const a = y.next().then(() => seen.push("a"));
  const b = y.next().then(() => seen.push("b"));
  queueMicrotask(() => seen.push("microtask"));
  await Promise.all([a, b]);
  assert.deepEqual(seen.slice(-2), ["a", "b"]);
  assert.ok(seen.indexOf("microtask") < seen.indexOf("a"), seen.join(","));
  assert.ok(seen.includes("timer"));
  y.close();
  y.close(); // closing twice is harmless
});
