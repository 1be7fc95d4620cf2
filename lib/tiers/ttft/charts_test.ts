import assert from "node:assert/strict";
import { assertRendersAndMatches } from "../../report/_snapshot.ts";
import { ttftSummary } from "./analyze.ts";
import {
  ttftIdleChart,
  ttftLengthChart,
  ttftServerChart,
  ttftStartupChart,
  ttftWarmupChart,
} from "./charts.ts";
import type { TtftRequestRow, TtftServerRow, TtftStartupRow, TtftTables } from "./tables.ts";

// Synthetic rows (not a measurement): two valid launches and one the client self-check invalidated.
let nextId = 0;
// Cells the charts do not read (spread, so the fixture type-checks whichever per-request cells are required).
const CELLS = { output_chars: 8, chunks: 2, t_intended_ms: 0, t_send_ms: 0, t_end_ms: 100 };
function req(p: Partial<TtftRequestRow> & Pick<TtftRequestRow, "series" | "point_id">): TtftRequestRow {
  return {
    ...CELLS,
    launch: Number(p.point_id.split("-")[1]),
    request_index: 0,
    series_index: 0,
    request_id: `r${nextId++}`,
    endpoint: "completions",
    ok: true,
    client_ok: p.point_id !== "launch-2",
    client_reason: p.point_id === "launch-2" ? "event-loop lag p99 80 ms > 50 ms" : undefined,
    ...p,
  };
}

const LAUNCHES = ["launch-0", "launch-1", "launch-2"];
const requests: TtftRequestRow[] = LAUNCHES.flatMap((point_id, l) => [
  req({ point_id, series: "cold", ttft_ms: 90 + 10 * l }),
  ...[0, 1, 2, 3].map((i) =>
    req({ point_id, series: "warm", request_index: i + 1, series_index: i, ttft_ms: 12 + i + l })
  ),
]);
const last = "launch-1";
requests.push(
  ...[128, 512, 2048].flatMap((tokens, k) =>
    [0, 1].map((rep) =>
      req({
        point_id: last,
        series: "length",
        request_index: 5 + 2 * k + rep,
        series_index: 2 * k + rep,
        prompt_tokens_target: tokens,
        ttft_ms: 10 + 0.02 * tokens + rep,
      })
    )
  ),
  req({ point_id: "launch-2", series: "length", series_index: 0, prompt_tokens_target: 512, ttft_ms: 80 }),
  ...[0, 1].map((i) =>
    req({ point_id: last, series: "idle", series_index: i, gap_before_ms: 2000, ttft_ms: 30 - 10 * i })
  ),
);

const PHASES = [["weights_load", 1.5], ["engine_init", 0.75], ["graph_capture", 0.25]] as const;
const startup: TtftStartupRow[] = LAUNCHES.flatMap((point_id, l) => [
  ...PHASES.map(([phase, seconds]) => ({
    point_id,
    launch: l,
    engine: "sim" as const,
    phase,
    seconds: seconds + 0.1 * l,
    source: "log" as const,
    simulated: true,
    clock: "simulated" as const,
  })),
  {
    point_id,
    launch: l,
    engine: "sim",
    phase: "ready",
    seconds: 0.5,
    source: "launcher",
    simulated: true,
    clock: "wall_compressed",
  },
]);

const server: TtftServerRow[] = [["0.01", 2], ["0.02", 4], ["+Inf", 4]].map(([le_s, cumulative_count]) => ({
  point_id: "launch-0",
  launch: 0,
  window: "warm",
  metric: "vllm:time_to_first_token_seconds",
  le_s: String(le_s),
  cumulative_count: Number(cumulative_count),
  sum_s: 0.05,
  count: 4,
  client_requests: 4,
}));

const tables: TtftTables = { requests, startup, server };
const s = ttftSummary(tables);

/** The marks of a group `<g ... aria-label="NAME">` whose attributes match `attrs`, counted. */
function marksIn(svg: string, name: string, attrs?: RegExp): number {
  const groups = [...svg.matchAll(new RegExp(`<g ([^>]*)aria-label="${name}">([\\s\\S]*?)</g>`, "g"))]
    .filter((m) => attrs === undefined || attrs.test(m[1]));
  return groups.reduce((n, m) => n + (m[2].match(/<(path|rect|line|circle) /g) ?? []).length, 0);
}
/** Red crosses: the dots of invalid launches. */
const crosses = (svg: string) => marksIn(svg, "dot", /stroke="red"/);

Deno.test("the fixture has one invalid launch, a prefill fit and a measured server histogram", () => {
  assert.deepEqual(s.client.invalid.map((p) => p.point_id), ["launch-2"]);
  assert.ok(s.length.fit && s.length.fit.slope_ms_per_token > 0);
  assert.equal(s.server.measured, true);
  assert.equal(s.startup.measured, true);
});

Deno.test("ttftStartupChart: one bar per log phase, longest first, SIMULATED named (snapshot)", async () => {
  const chart = ttftStartupChart(s, startup);
  assert.equal(chart.title, "Startup phases from the engine log (SIMULATED durations)");
  assert.equal(chart.subtitle, "Mean of 3 launch(es); ready (launcher, compressed wall clock): 0.500 s");
  const svg = await assertRendersAndMatches(chart, import.meta.url, "ttft_startup");
  assert.equal(marksIn(svg, "bar"), 3, "three log phases; the launcher's ready is not a bar");
  const order = ["weights_load", "engine_init", "graph_capture"].map((p) => svg.indexOf(`>${p}<`));
  assert.ok(order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1])), `phase order ${order}`);
});

Deno.test("ttftWarmupChart: a line per launch and the invalid launch's requests crossed in red (snapshot)", async () => {
  const chart = ttftWarmupChart(s, requests);
  const svg = await assertRendersAndMatches(chart, import.meta.url, "ttft_warmup");
  assert.equal(marksIn(svg, "line"), 3, "one line per launch, the invalid one included");
  assert.equal(marksIn(svg, "dot"), 20, "15 requests, and 5 of them crossed");
  assert.equal(crosses(svg), 5, "launch-2's cold and four warm requests");
  assert.equal(chart.legends.length, 1, "the launches' colour legend");
  for (const id of LAUNCHES) assert.match(chart.legends[0], new RegExp(`>${id}<`));
});

Deno.test("ttftLengthChart: every length request a dot, the fit in the subtitle and as a red line (snapshot)", async () => {
  const chart = ttftLengthChart(s, requests);
  const fit = s.length.fit!;
  assert.equal(
    chart.subtitle,
    `Fit: ${fit.intercept_ms.toFixed(2)} ms + ${fit.slope_ms_per_token.toFixed(5)} ms/token (R² ${
      fit.r2!.toFixed(4)
    })`,
  );
  const svg = await assertRendersAndMatches(chart, import.meta.url, "ttft_length");
  assert.equal(crosses(svg), 1, "launch-2's one length request crossed");
  assert.equal(marksIn(svg, "line", /stroke="red"/), 1, "the fit line");
  assert.equal(marksIn(svg, "dot"), 8, "7 length requests, one of them crossed");
  const noFit = ttftSummary({ ...tables, requests: requests.filter((r) => r.series !== "length") });
  assert.equal(ttftLengthChart(noFit, []).subtitle, "No fit");
});

Deno.test("ttftIdleChart: the idle gap in the title and the warm p50 and p95 rules (snapshot)", async () => {
  const chart = ttftIdleChart(s, requests);
  assert.equal(chart.title, "First requests after 2.0 s idle against the warm series");
  const svg = await assertRendersAndMatches(chart, import.meta.url, "ttft_idle");
  assert.equal(marksIn(svg, "rule"), 2, "warm p50 and p95");
  assert.equal(marksIn(svg, "rule", /stroke-dasharray="4,3"/), 1, "p95 dashed");
  assert.equal(marksIn(svg, "dot"), 18, "12 warm requests and 2 after idle; launch-2's 4 warm crossed");
  assert.equal(crosses(svg), 4);
});

Deno.test("ttftServerChart: client and server mean as two bars, the gap in the subtitle (snapshot)", async () => {
  const chart = ttftServerChart(s);
  const share = (s.server.outside_share! * 100).toFixed(1);
  assert.equal(
    chart.subtitle,
    `${
      s.server.outside_mean_ms!.toFixed(2)
    } ms (${share}%) of the client's TTFT is outside the engine's measurement`,
  );
  const svg = await assertRendersAndMatches(chart, import.meta.url, "ttft_server");
  assert.equal(marksIn(svg, "bar"), 2);
  const none = ttftServerChart(ttftSummary({ ...tables, server: [] }));
  assert.match(none.subtitle ?? "", /^n\/a ms \(n\/a%\)/, "not measured reads n/a, never NaN");
});
