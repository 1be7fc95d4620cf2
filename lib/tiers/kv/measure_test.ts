import assert from "node:assert/strict";
import { parseServeConfig } from "../../engine/config.ts";
import { createRun } from "../../run/run_dir.ts";
import { serveSim } from "../../sim/server.ts";
import { labEnv } from "../lab_env.ts";
import { kvCapacityAnswers } from "./capacity.ts";
import { kvFitProbePoint, kvSweepPoints, measureKv } from "./measure.ts";
import { kvParams } from "./params.ts";
import { KV_COLUMNS, type KvRow } from "./rows.ts";
import { kvFindings } from "./findings.ts";
import { writeKvNotes } from "./writeup.ts";

Deno.test("kvSweepPoints and kvFitProbePoint: one engine per length, utilization points, a probe sized to half a request", () => {
  const P = kvParams({ size: "default" }, {});
  assert.deepEqual(
    kvSweepPoints({ ...P, lens: [1024, 4096], utils: [0.5], util_len: 4096 }).map((p) => p.id),
    [
      "L1024",
      "L4096",
      "L4096-u0.5",
    ],
  );
  const top: KvRow = {
    point_id: "L32768",
    role: "sweep",
    engine: "sim",
    max_model_len: 32768,
    started: true,
    non_kv_gib: 4,
    device_total_gib: 80,
    kv_bytes_per_token_computed: 2 ** 15,
  };
  // half of one 32k request at 32 KiB per token is 0.5 GiB: (4 + 0.5) / 80
  assert.equal(kvFitProbePoint({ fail_util: "auto" }, [top])?.gpu_memory_utilization, 0.0562);
  const cpu = kvFitProbePoint({ fail_util: "auto" }, [{ ...top, device_total_gib: undefined }]);
  assert.equal(cpu?.kv_cache_memory_bytes, 2 ** 29, "no device total: the pool is set in bytes instead");
  assert.equal(kvFitProbePoint({ fail_util: 0.1 }, [top])?.gpu_memory_utilization, 0.1);
  assert.equal(kvFitProbePoint({ fail_util: "off" }, [top]), undefined);
});

Deno.test("on the embedded engine the sweep, the slope, the fit failures and the load confirmation agree with the planner", async () => {
  const root = await Deno.makeTempDir({ prefix: "servelab-kv-test-" });
  const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" });
  const P = kvParams(lab, {
    SERVELAB_KV_LENS: "2k,8k,64k",
    SERVELAB_KV_LOAD_LEN: "2k",
    SERVELAB_KV_LOAD_OUTPUT_TOKENS: "32",
    SERVELAB_KV_LOAD_POOL: "2",
  });
  const run = await createRun({ engine: "sim", root });
  const M = await measureKv(run, lab, P, { progress: false });

  assert.match(M.engine_label, /^SIMULATED/);
  const header = Deno.readTextFileSync(M.scaling_csv).split("\n")[0];
  assert.equal(header, KV_COLUMNS.join(","));
  assert.deepEqual(M.rows.map((r) => [r.point_id, r.started, r.fit_error_kind]), [
    ["L2048", true, undefined],
    ["L8192", true, undefined],
    ["L65536", false, "max_len_exceeds_model"],
    [M.rows[3].point_id, false, "kv_fit"],
  ]);
  const probe = M.rows[3];
  assert.equal(probe.role, "fit_probe");
  assert.equal(probe.max_model_len, 8192, "the probe runs at the largest length that started");
  const est = probe.fit_error_estimated_max_model_len!;
  assert.ok(est > 0.4 * 8192 && est < 0.6 * 8192, `vLLM's estimate ${est} is about half the length`);

  const f = kvFindings(M.rows, M.load_rows);
  assert.ok(Math.abs(f.slope!.slope + 1) < 0.01, `log-log slope ${f.slope!.slope}`);
  assert.equal(f.memory?.flat, true);
  assert.equal(f.pool?.flat, true);
  assert.deepEqual(f.steps, []);
  assert.ok(
    f.bytes.every((b) => b.explained),
    "bytes per token: measured = computed up to a block and rounding",
  );
  assert.deepEqual(f.planner.mismatches, []);
  assert.equal(f.planner.compared, 4);

  const v = f.load!;
  assert.equal(v.predicted_max_concurrent, 2);
  assert.equal(v.planned_max_concurrent, 2);
  assert.ok(v.agrees, `load onset ${v.onset} against predicted ${v.predicted_max_concurrent}`);
  assert.ok(M.load_rows.some((r) => r.limited && (r.waiting_max ?? 0) + (r.preemptions ?? 0) > 0));

  const answers = kvCapacityAnswers(M, P.question);
  assert.equal(answers[0].answer?.agrees_with_planner, true);
  const notes = Deno.readTextFileSync(
    await writeKvNotes(run, { lab, params: P, measurement: M, capacity: answers }),
  );
  assert.match(notes, /^# Tier 3a — KV cache scaling \(SIMULATED\): notes/);
  assert.match(notes, /log-log slope is -1\.00/);

  // A rerun of the same run folder resumes: every point is skipped and the rows read back the same.
  const again = await measureKv(run, lab, P, { progress: false });
  assert.deepEqual(again.rows, M.rows);
  assert.deepEqual(again.load_rows, M.load_rows);
  await Deno.remove(root, { recursive: true });
});

Deno.test("an external server: no sweep and no load (said in the notes), its capacity read from cache_config_info", async () => {
  const root = await Deno.makeTempDir({ prefix: "servelab-kv-test-" });
  await using srv = await serveSim(
    parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 }),
    {
      port: 0,
    },
  );
  const lab = labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: srv.url, SERVELAB_SIZE: "test" });
  const P = kvParams(lab, {});
  const M = await measureKv(await createRun({ engine: "external", root }), lab, P, { progress: false });
  assert.equal(M.rows.length, 1);
  const o = M.rows[0];
  assert.deepEqual([o.role, o.capacity_source, o.max_model_len], ["observed", "metrics", 4096]);
  assert.equal(o.num_gpu_blocks, srv.sim.plan.num_gpu_blocks);
  assert.equal(M.load_rows.length, 0);
  assert.match(
    M.notes.join(" "),
    /the sweep needs one engine per max-model-len \(restarts\), so it is skipped/,
  );
  const answer = kvCapacityAnswers(M, P.question)[0].answer!;
  assert.equal(answer.measured.kv_tokens_usable, (srv.sim.plan.num_gpu_blocks - 1) * 16);
  await Deno.remove(root, { recursive: true });
});
