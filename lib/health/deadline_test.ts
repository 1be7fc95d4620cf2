// The canary ends within its timeout_s whatever the server does (requests beyond it are cancelled and
// counted as failed), and a thresholds file without checks is an error, not a pass.
import assert from "node:assert/strict";
import { parseServeConfig } from "../engine/config.ts";
import { createSim } from "../sim/instance.ts";
import { createSimHandler } from "../sim/server.ts";
import { runHealth } from "./check.ts";
import { defaultThresholds, parseThresholds, thresholdsJson } from "./thresholds.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

/** The embedded engine behind a wrapper that can slow or change any path. */
function server(
  wrap: (req: Request, inner: (r: Request) => Promise<Response>) => Promise<Response>,
  faults = {},
) {
  const sim = createSim(
    parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 4096, sim: { faults } }),
  );
  const inner = createSimHandler(sim);
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => wrap(req, inner));
  return {
    url: `http://127.0.0.1:${srv.addr.port}`,
    async [Symbol.asyncDispose]() {
      await srv.shutdown();
      await sim.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("the canary ends within timeout_s when /tokenize is slow and keeps returning too few tokens", async () => {
  await using s = server(async (req, inner) => {
    if (new URL(req.url).pathname !== "/tokenize") return inner(req);
    await sleep(1200);
    return Response.json({ tokens: [1], count: 1, max_model_len: 4096 });
  });
  const t = defaultThresholds();
  t.canary = { ...t.canary, timeout_s: 3 };
  const t0 = performance.now();
  const r = await runHealth(s.url, t);
  const wall_s = (performance.now() - t0) / 1000;
  assert.ok(wall_s <= 3.3, `the canary took ${wall_s.toFixed(2)} s against timeout_s 3`);
  assert.equal(r.kind, "judged");
});

Deno.test("stalled streams are cancelled at timeout_s and every request not finished counts as failed", async () => {
  await using s = server((req, inner) => inner(req), { stall_after_tokens: 1 });
  const t = defaultThresholds();
  t.canary = { ...t.canary, timeout_s: 2.5 };
  const t0 = performance.now();
  const r = await runHealth(s.url, t);
  const wall_s = (performance.now() - t0) / 1000;
  assert.ok(wall_s <= 2.8, `the canary took ${wall_s.toFixed(2)} s against timeout_s 2.5`);
  assert.equal(r.kind, "judged");
  if (r.kind !== "judged") return;
  assert.equal(r.canary.deadline_hit, true);
  assert.equal(r.canary.succeeded, 0);
  assert.ok(r.canary.sent < r.canary.requests, "unsent requests stay unsent");
  assert.equal(r.measured.values.error_rate, 1, "sent-and-cancelled and unsent requests all count as failed");
  assert.equal(r.exit_code, 1);
});

Deno.test("a thresholds file with no checks is an error naming the field", () => {
  const t = defaultThresholds();
  t.checks = [];
  assert.throws(
    () => parseThresholds(thresholdsJson(t), "empty.json"),
    /empty\.json is invalid:\n {2}checks: the list is empty/,
  );
});
