import assert from "node:assert/strict";
import { requestCells } from "../../analysis/_request_fixture.ts";
import { parseServeConfig } from "../../engine/config.ts";
import { labEnv } from "../lab_env.ts";
import { ttftSummary } from "./analyze.ts";
import { ttftParams } from "./params.ts";
import type { TtftRequestRow, TtftStartupRow } from "./tables.ts";
import { ttftCommands, ttftKeyNumbers, ttftWriteup } from "./writeup.ts";

const rows: TtftRequestRow[] = [
  {
    point_id: "launch-0",
    series: "cold",
    launch: 0,
    request_index: 0,
    series_index: 0,
    ...requestCells({ request_id: "a" }),
    ttft_ms: 90,
    ttft_first_byte_ms: 2,
  },
  ...[10, 11, 12].map((t, i): TtftRequestRow => ({
    point_id: "launch-0",
    series: "warm",
    launch: 0,
    request_index: i + 1,
    series_index: i,
    ...requestCells({ request_id: `w${i}` }),
    ttft_ms: t,
    ttft_first_byte_ms: 1,
  })),
];
const vllmStartup: TtftStartupRow[] = [
  {
    point_id: "launch-0",
    launch: 0,
    engine: "vllm",
    version: "0.11.0",
    phase: "compile",
    seconds: 20,
    source: "log",
    simulated: false,
    clock: "engine_log",
  },
  {
    point_id: "launch-0",
    launch: 0,
    engine: "vllm",
    version: "0.11.0",
    phase: "ready",
    seconds: 61,
    source: "launcher",
    simulated: false,
    clock: "wall",
  },
];

function context(engine: "vllm" | "sim") {
  const lab = labEnv({ SERVELAB_ENGINE: engine, SERVELAB_SIZE: "test" });
  const config = parseServeConfig({ engine, model: lab.model });
  return { run_id: "r1", lab, params: ttftParams("test", {}), config, environment: ["Host: test"] };
}

Deno.test("a real engine's write-up has no SIMULATED label and states what its log does not time", () => {
  const text = ttftWriteup(
    ttftSummary({ requests: rows, startup: vllmStartup, server: [] }),
    context("vllm"),
  );
  assert.match(text, /^# Tier 1 — Time to first token\n/);
  assert.doesNotMatch(text, /SIMULATED/);
  assert.match(text, /41\.000 s of the ready time is in no logged phase/);
  assert.match(text, /\| `cold_warm_factor` \| [^|]+ \| 8\.18 \| x \|/);
  assert.match(text, /Not measured: the engine's `\/metrics` could not be scraped/);
  assert.match(
    text,
    /## Client self-check\n\nNot measured: this run's points were measured before the tier had/,
  );
  assert.match(text, /`VLLM_SERVER_DEV_MODE=1 vllm serve Qwen\/Qwen2\.5-1\.5B-Instruct .*--port 8000/);
});

Deno.test("a sim write-up says SIMULATED in the title, the key numbers and every observation", () => {
  const simStartup = vllmStartup.map((r): TtftStartupRow => ({
    ...r,
    engine: "sim",
    simulated: r.source === "log",
    time_scale: 0.02,
    clock: r.source === "log" ? "simulated" : "wall_compressed",
  }));
  const text = ttftWriteup(ttftSummary({ requests: rows, startup: simStartup, server: [] }), context("sim"));
  assert.match(text, /^# Tier 1 — Time to first token — SIMULATED\n/);
  assert.match(text, /## Key numbers \(SIMULATED\)/);
  assert.match(text, /The log phases are SIMULATED durations/);
  assert.match(text, /compressed wall time \(time scale 0\.020\)/);
  const obs = text.split("## Observations\n\n")[1].trim().split("\n");
  assert.ok(obs.slice(0, -1).every((o) => o.startsWith("- SIMULATED: ")), obs.join("\n"));
  assert.match(ttftCommands(context("sim").lab, context("sim").config)[1], /^\.\/servelab sim serve /);
});

Deno.test("numbers that were not measured print as n/a, never 0", () => {
  const s = ttftSummary({ requests: rows.slice(1), startup: [], server: [] });
  const keys = new Map(ttftKeyNumbers(s).map((k) => [k.key, k]));
  assert.equal(keys.get("cold_p50_ms")!.value, undefined);
  assert.equal(keys.get("prefill_slope_ms_per_token")!.value, undefined);
  const text = ttftWriteup(s, context("vllm"));
  assert.match(text, /\| `cold_p50_ms` \| [^|]+ \| n\/a \| ms \| 0 \|/);
  assert.match(text, /Cold TTFT not measured/);
});
