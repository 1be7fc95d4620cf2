import assert from "node:assert/strict";
import { join } from "node:path";
import { createClock } from "../probe/clock.ts";
import { runLoad } from "../probe/load.ts";
import { createRun } from "../run/run_dir.ts";
import { pointPaths, runPoints } from "../run/points.ts";
import { parseServeConfig } from "./config.ts";
import { groupMembers } from "./process_group.ts";
import { liveEngineCount } from "./registry.ts";
import { EngineExitedError, EngineSupervisor } from "./supervisor.ts";

const MODEL = "Qwen/Qwen2.5-1.5B-Instruct";

Deno.test("an engine crash mid-sweep fails that point only; the sweep goes on with a new engine and keeps what it measured", async () => {
  const root = await Deno.makeTempDir({ prefix: "servelab-supervisor-test-" });
  const run = await createRun({ engine: "sim", root });
  // The embedded engine dies (exit 137) when its 6th request finishes: in the 2nd point of 4 requests.
  const cfg = parseServeConfig({
    engine: "sim",
    model: MODEL,
    max_model_len: 2048,
    sim: { faults: { crash_after_requests: 6 } },
  });
  const restarts: { n: number; code?: number }[] = [];
  const pids: number[] = [];
  const clock = createClock();
  {
    await using sup = await EngineSupervisor.start(cfg, {
      log_dir: run.logsDir,
      log_name: "sweep",
      on_restart: (n, exit) => restarts.push({ n, code: exit.code }),
    });
    const points = ["p1", "p2", "p3"].map((id) => ({ id }));
    const s = await runPoints(run, "sweep", points, async (p) => {
      const engine = await sup.ensure();
      pids.push(engine.pid!);
      const { records } = await runLoad(
        engine.baseUrl,
        () => ({ endpoint: "completions", model: engine.model, prompt: `point ${p.id}`, max_tokens: 4 }),
        { kind: "concurrency", n: 1 },
        { count: 4, clock, headers: engine.headers(), timeout_ms: 10_000 },
      );
      await sup.check(`point ${p.id}`, { settle_ms: records.some((r) => !r.ok) ? 2_000 : 0 });
      return { rows: records.map((r) => ({ request_id: r.request_id, ok: r.ok, error_kind: r.error_kind })) };
    }, { progress: false });

    assert.deepEqual(s.done, ["p1", "p3"]);
    assert.deepEqual(s.failed.map((f) => f.id), ["p2"]);
    assert.match(s.failed[0].error, /^The engine exited with code 137 during point p2/);
    assert.match(s.failed[0].error, /Log: .*sweep\.log/);
    assert.equal(sup.restarts, 1);
    assert.deepEqual(restarts, [{ n: 1, code: 137 }]);
    assert.deepEqual([pids[0], pids[1]], [pids[0], pids[0]], "p1 and p2 ran on the first engine");
    assert.notEqual(pids[2], pids[0], "p3 ran on a new engine");
    assert.deepEqual(groupMembers(pids[0]), [], "the crashed engine's group was cleaned up");
    assert.ok(
      Deno.statSync(join(run.logsDir, "sweep-restart1.log")).isFile,
      "the new engine has its own log",
    );
  }
  assert.equal(liveEngineCount(), 0);
  assert.deepEqual(groupMembers(pids[2]), []);

  // What was measured before the crash is kept: p1's rows are all successes, p3's too, p2 left no result.
  const csv = (id: string) => Deno.readTextFileSync(pointPaths(run, "sweep", id).csv).trim().split("\n");
  for (const id of ["p1", "p3"]) {
    const rows = csv(id).slice(1);
    assert.equal(rows.length, 4);
    assert.ok(rows.every((r) => r.includes(",true,")), `${id}: ${rows}`);
  }
  assert.throws(() => Deno.statSync(pointPaths(run, "sweep", "p2").json), Deno.errors.NotFound);
  assert.ok(Deno.statSync(pointPaths(run, "sweep", "p2").failed).isFile);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a supervisor gives up after max_restarts and names the log", async () => {
  const cfg = parseServeConfig({
    engine: "sim",
    model: MODEL,
    max_model_len: 2048,
    sim: { faults: { crash_after_requests: 1 } },
  });
  await using sup = await EngineSupervisor.start(cfg, { max_restarts: 0 });
  const e = sup.engine;
  const res = await fetch(`${e.baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...e.headers() },
    body: JSON.stringify({ model: e.model, prompt: "x", max_tokens: 2 }),
  });
  await res.body?.cancel();
  await assert.rejects(sup.check("the probe", { settle_ms: 5_000 }), EngineExitedError);
  await assert.rejects(sup.ensure(), /already restarted 0 times; giving up\. Read its log \(.*\.log\)/);
  assert.deepEqual(groupMembers(e.pid!), []);
});

Deno.test("an engine killed mid-stream (SIGKILL) fails the point with its streams cut, and the next point restarts it", async () => {
  const root = await Deno.makeTempDir({ prefix: "servelab-supervisor-kill-" });
  const run = await createRun({ engine: "sim", root });
  const cfg = parseServeConfig({ engine: "sim", model: MODEL, max_model_len: 2048 });
  const clock = createClock();
  const kinds: Record<string, (string | undefined)[]> = {};
  {
    await using sup = await EngineSupervisor.start(cfg, { log_dir: run.logsDir, log_name: "kill" });
    const s = await runPoints(run, "kill", [{ id: "k1" }, { id: "k2" }, { id: "k3" }], async (p) => {
      const engine = await sup.ensure();
      let seen = 0;
      const { records } = await runLoad(
        engine.baseUrl,
        () => ({ endpoint: "completions", model: engine.model, prompt: "kill", max_tokens: 64 }),
        { kind: "concurrency", n: 2 },
        {
          count: 6,
          clock,
          headers: engine.headers(),
          timeout_ms: 10_000,
          // In k2, after two requests finished, the engine dies the hard way while two streams run.
          on_record: () => {
            if (p.id === "k2" && ++seen === 2) Deno.kill(engine.pid!, "SIGKILL");
          },
        },
      );
      kinds[p.id] = records.map((r) => r.error_kind);
      await sup.check(`point ${p.id}`, { settle_ms: records.some((r) => !r.ok) ? 2_000 : 0 });
      return { rows: records.map((r) => ({ ok: r.ok })) };
    }, { progress: false });
    assert.deepEqual(s.done, ["k1", "k3"]);
    assert.deepEqual(s.failed.map((f) => f.id), ["k2"]);
    assert.match(s.failed[0].error, /The engine exited \(killed by SIGKILL\) during point k2/);
    assert.ok(kinds.k2.includes("connection"), `k2's cut streams are connection failures: ${kinds.k2}`);
    assert.deepEqual(kinds.k3, Array(6).fill(undefined), "k3 ran clean on the new engine");
    assert.equal(sup.restarts, 1);
  }
  assert.equal(liveEngineCount(), 0);
  await Deno.remove(root, { recursive: true });
});
