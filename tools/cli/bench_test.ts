import assert from "node:assert/strict";
import { benchHeader, listBenches, main } from "./bench.ts";

Deno.test("bench lists bench/*.ts without helpers and tests, and refuses unknown names", async () => {
  const names = await listBenches();
  assert.ok(names.includes("sim_virtual_time"));
  assert.ok(!names.some((n) => n.startsWith("_") || n.endsWith("_test")));
  assert.equal(await main(["no_such_bench"]), 2);
});

Deno.test("bench results start with the command, the code and the machine", async () => {
  const h = await benchHeader("sim_virtual_time", ["--requests", "10"], new Date("2026-11-28T00:00:00Z"));
  assert.match(h, /^# bench sim_virtual_time: 2026-11-28T00:00:00.000Z/);
  assert.match(h, /command: `deno run -A bench\/sim_virtual_time.ts --requests 10`/);
  assert.match(h, /machine: .* cores/);
});
