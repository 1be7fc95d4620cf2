import assert from "node:assert/strict";
import { parseServeConfig } from "../../engine/config.ts";
import { readCsv } from "../../run/csv.ts";
import { createRun } from "../../run/run_dir.ts";
import { serveSim } from "../../sim/server.ts";
import { labEnv } from "../lab_env.ts";
import { prefixFindings, PrefixRequestRow, readPrefixResults } from "./analyze.ts";
import { measurePrefix, PREFIX_REQUEST_COLUMNS, prefixArmSequence, prefixPoints } from "./measure.ts";
import { type PrefixParams, prefixParams } from "./params.ts";

const lab = labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test", SERVELAB_SEED: "3" });

/** Small enough for seconds, large enough to show each behaviour. */
const SMALL: PrefixParams = {
  ...prefixParams(lab, {}),
  concurrency: [2],
  prefix_tokens: [2048],
  sub_block_point: true,
  shares_pct: [0, 100],
  share_prefix_tokens: 1024,
  share_concurrency: 2,
  cliff_prefix_tokens: 512,
  cliff_pool_tokens: 4096,
  cliff_load: [0.5, 2],
  cliff_rounds: 1,
  requests: 4,
  output_tokens: 4,
  cliff_output_tokens: 2,
};

Deno.test("arm order alternates between repeats and points so drift favours neither arm", () => {
  const arms = ["off", "on"] as const;
  const s = (i: number, r: number, m: "parallel" | "by_point") =>
    prefixArmSequence(i, r, m, [...arms]).map((x) => `${x.arm}${x.repeat}`).join(" ");
  assert.equal(s(0, 2, "parallel"), "off0 on0 on1 off1");
  assert.equal(s(1, 2, "parallel"), "on0 off0 off1 on1");
  assert.equal(s(0, 2, "by_point"), "off0 off1 on0 on1");
  assert.equal(s(1, 1, "by_point"), "on0 off0");
  // by_point: the arm a point ends with starts the next one, so only one engine switch per point
  for (let i = 0; i < 5; i++) {
    assert.equal(
      prefixArmSequence(i, 1, "by_point", [...arms]).at(-1)!.arm,
      prefixArmSequence(i + 1, 1, "by_point", [...arms])[0].arm,
    );
  }
  assert.deepEqual(prefixArmSequence(3, 2, "parallel", ["on"]).map((x) => x.arm), ["on", "on"]);
});

Deno.test("points cover the three sweeps with stable ids", () => {
  assert.deepEqual(prefixPoints(SMALL).map((p) => p.id), [
    "len-sub-c2",
    "len-2048-c2",
    "share-0",
    "share-100",
    "cliff-x0.5",
    "cliff-x2",
  ]);
});

Deno.test("on the embedded engine the A/B wins at long prefixes, the measures agree and the cliff appears", async () => {
  const root = await Deno.makeTempDir({ prefix: "prefix-measure-" });
  try {
    const run = await createRun({ engine: "sim", root });
    const m = await measurePrefix(run, lab, SMALL, { progress: false });
    assert.deepEqual(m.points.failed, []);
    assert.equal(m.launches, 3, "off, on and the small-pool engine");
    const { requests, runs } = await readPrefixResults(run.dir);
    const header = (await Deno.readTextFile(m.requests_csv)).split("\n", 1)[0];
    assert.equal(header, PREFIX_REQUEST_COLUMNS.join(","));
    assert.equal(
      requests.length,
      runs.reduce((s, r) => s + r.n_measure, 0) + requests.filter((r) => r.phase === "warmup").length,
    );
    const f = prefixFindings(requests, runs);

    assert.equal(f.simulated, true);
    assert.equal(f.block_size, 16);
    const long = f.longest!.rows[0];
    // Real time on a shared 2-core machine (this runs beside the other test files) adds client and timer
    // noise to both arms, so this asserts a clear win, not its size; the size (a repeated 2,000-token
    // prefix cuts TTFT by more than half) is pinned in virtual time in lib/sim/simulate_test.ts.
    assert.ok(long.ttft_speedup! >= 1.25, `caching should win at 2,048 tokens, got ${long.ttft_speedup}x`);
    assert.equal(f.off_cached_tokens, 0, "no cached tokens with caching off");
    assert.equal(f.off_metric_hits, 0);
    assert.equal(f.agreement.disagree, 0, JSON.stringify(f.agreement.disagreements));
    assert.equal(f.agreement.not_measured, 0);
    assert.equal(f.sub_block[0].hit_rate_on, 0, "half a block never hits");
    const s0 = f.share.find((r) => r.share_pct === 0)!;
    const s100 = f.share.find((r) => r.share_pct === 100)!;
    assert.equal(s0.hit_rate_on, 0, "unique prompts never hit");
    assert.ok(s100.hit_rate_on! > 0.9);

    const c = f.cliff;
    assert.ok(c.capacity_prefixes! >= 2);
    assert.deepEqual(c.points.map((p) => p.load_factor), [0.5, 2]);
    assert.equal(c.last_warm_working_set, c.points[0].working_set, "half the capacity stays warm");
    assert.equal(c.cliff_working_set, c.points[1].working_set, "twice the capacity falls off the cliff");
    assert.ok((c.points[1].usage_hit_rate ?? 1) < 0.1);

    // a rerun resumes: nothing is measured again, no engine starts
    const again = await measurePrefix(run, lab, SMALL, { progress: false });
    assert.equal(again.launches, 0);
    assert.equal(again.points.skipped.length, 6);
    assert.equal((await readCsv(again.requests_csv, PrefixRequestRow)).length, requests.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("by_point runs one engine at a time, switching once per point", async () => {
  const root = await Deno.makeTempDir({ prefix: "prefix-bypoint-" });
  try {
    const run = await createRun({ engine: "sim", root });
    const P: PrefixParams = {
      ...SMALL,
      interleave: "by_point",
      sub_block_point: false,
      concurrency: [1],
      prefix_tokens: [256, 1024],
      shares_pct: [],
      cliff_load: [],
      requests: 2,
    };
    const m = await measurePrefix(run, lab, P, { progress: false });
    assert.deepEqual(m.points.failed, []);
    assert.equal(m.launches, 3, "2 points: off, on (kept for the next point), off");
    const { runs } = await readPrefixResults(run.dir);
    assert.deepEqual(runs.map((r) => `${r.point_id}:${r.arm}`), [
      "len-256-c1:off",
      "len-256-c1:on",
      "len-1024-c1:on",
      "len-1024-c1:off",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an external engine runs the caching-on arm only, says so, and flags the refused reset", async () => {
  // An embedded engine in-process without VLLM_SERVER_DEV_MODE: /reset_prefix_cache is 404, as on most servers.
  await using srv = await serveSim(
    parseServeConfig({ engine: "sim", model: "Qwen/Qwen2.5-1.5B-Instruct" }),
    { port: 0, env: {} },
  );
  const ext = labEnv({ SERVELAB_ENGINE: "external", SERVELAB_URL: srv.url, SERVELAB_SIZE: "test" });
  const root = await Deno.makeTempDir({ prefix: "prefix-external-" });
  try {
    const run = await createRun({ engine: "external", root });
    const P: PrefixParams = {
      ...SMALL,
      sub_block_point: false,
      shares_pct: [100],
      concurrency: [1],
      requests: 2,
    };
    const m = await measurePrefix(run, ext, P, { progress: false });
    assert.deepEqual(m.arms, ["on"]);
    assert.equal(m.launches, 1);
    assert.match(m.notes.join("\n"), /only the 'on' arm ran/);
    assert.match(m.notes.join("\n"), /eviction cliff .* not measured/);
    const { runs } = await readPrefixResults(run.dir);
    assert.deepEqual([...new Set(runs.map((r) => r.arm))], ["on"]);
    assert.ok(runs.every((r) => r.reset_ok === false));
    assert.ok(!runs.some((r) => r.sweep === "cliff"));
    assert.equal(prefixFindings((await readPrefixResults(run.dir)).requests, runs).reset_failed, runs.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
