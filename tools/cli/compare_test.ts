import assert from "node:assert/strict";
import { createRun } from "../../lib/run/run_dir.ts";
import { main } from "./compare.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

Deno.test("compare exits 0 with a table, 1 when workloads differ, 2 for bad arguments", async () => {
  const root = await Deno.makeTempDir();
  await createRun({ engine: "sim", root, id: "a", model: "m", params: { size: "test" } });
  await createRun({ engine: "sim", root, id: "b", model: "m", params: { size: "test" } });
  await createRun({ engine: "sim", root, id: "c", model: "m", params: { size: "default" } });
  const ok = capture();
  assert.equal(await main(["a", "b"], ok.io, { root }), 0);
  assert.ok(ok.out.some((l) => l.includes("not in both runs")));
  const refused = capture();
  assert.equal(await main(["a", "c", "--json"], refused.io, { root }), 1);
  assert.equal(JSON.parse(refused.out.join("\n")).kind, "refused");
  const bad = capture();
  assert.equal(await main(["a"], bad.io, { root }), 2);
  assert.equal(await main(["a", "nope"], bad.io, { root }), 2);
  assert.ok(bad.err.some((l) => l.includes("nope")));
});
