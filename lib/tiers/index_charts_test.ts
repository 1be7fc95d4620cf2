// The run index's key chart of each tier (the Tier contract's indexChart), from synthetic text rows (not a
// measurement): what each draws, that it is undefined without data, and its SVG against a snapshot.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { $display } from "../report/bundle.ts";
import { type Chart, plot } from "../report/plot.ts";
import { ttftIndexChart } from "./ttft/charts.ts";
import { prefixIndexChartOptions } from "./prefix/charts.ts";
import { batchingIndexChart } from "./batching/charts.ts";

type Row = Record<string, string | undefined>;

function roundNumbers(svg: string): string {
  return svg.replace(/-?\d+\.\d+/g, (n) => String(Math.round(Number(n) * 100) / 100));
}

async function assertSnapshot(chart: Chart, tier: string, name: string): Promise<string> {
  const html = String(chart[$display]()["text/html"]);
  assert.ok(!html.includes("<svg"), "charts are images");
  assert.doesNotMatch(html, /undefined|NaN/);
  const svg = roundNumbers(chart.svg);
  const snapshot = fileURLToPath(new URL(`./${tier}/testdata/${name}.svg.snap`, import.meta.url));
  if (Deno.env.get("SERVELAB_UPDATE_SNAPSHOTS") === "1") await Deno.writeTextFile(snapshot, svg);
  assert.equal(
    svg,
    await Deno.readTextFile(snapshot),
    "run with SERVELAB_UPDATE_SNAPSHOTS=1 to accept a change",
  );
  return svg;
}

const marks = (svg: string, name: string, attrs?: RegExp) =>
  [...svg.matchAll(new RegExp(`<g ([^>]*)aria-label="${name}">([\\s\\S]*?)</g>`, "g"))]
    .filter((m) => attrs === undefined || attrs.test(m[1]))
    .reduce((n, m) => n + (m[2].match(/<(path|rect|line|circle) /g) ?? []).length, 0);

Deno.test("ttftIndexChart: cold and warm requests as dots, invalid launches crossed, a median tick each (snapshot)", async () => {
  const rows: Row[] = [
    ...[90, 95].map((t, i) => ({
      series: "cold",
      ok: "true",
      ttft_ms: String(t),
      client_ok: i ? "false" : "true",
    })),
    ...[12, 13, 14, 15].map((t) => ({ series: "warm", ok: "true", ttft_ms: String(t), client_ok: "true" })),
    { series: "warm", ok: "false", ttft_ms: "", client_ok: "true" },
    { series: "length", ok: "true", ttft_ms: "40", client_ok: "true" },
  ];
  const chart = ttftIndexChart(rows, "SIMULATED: test rows")!;
  assert.equal(chart.title, "Cold against warm TTFT");
  const svg = await assertSnapshot(chart, "ttft", "ttft_index");
  assert.equal(
    marks(svg, "dot"),
    6,
    "2 cold and 4 warm requests; the failed one and the length one left out",
  );
  assert.equal(marks(svg, "dot", /stroke="red"/), 1, "the invalid launch's cold request crossed");
  assert.equal(marks(svg, "tick"), 2, "a median per series");
  assert.equal(ttftIndexChart(rows.filter((r) => r.series !== "cold"), "x"), undefined, "no cold: no chart");
});

Deno.test("prefixIndexChartOptions: TTFT p50 off and on against prefix length at the lowest concurrency (snapshot)", async () => {
  const rows: Row[] = [];
  for (const c of [1, 4]) {
    for (const len of [256, 1024, 4096]) {
      for (const arm of ["off", "on"]) {
        for (const k of [0, 1, 2]) {
          rows.push({
            sweep: "length",
            ok: "true",
            arm,
            concurrency: String(c),
            prefix_tokens: String(len),
            ttft_ms: String((arm === "off" ? len / 20 : 10) + k + c),
          });
        }
      }
    }
  }
  const o = prefixIndexChartOptions(rows, "SIMULATED: test rows")!;
  assert.match(o.caption ?? "", /concurrency 1,/);
  const svg = await assertSnapshot(plot(o), "prefix", "prefix_index");
  assert.equal(marks(svg, "line"), 2, "one line per arm");
  assert.equal(marks(svg, "dot"), 6, "3 lengths x 2 arms, medians");
  assert.equal(
    prefixIndexChartOptions(rows.filter((r) => r.arm === "on"), "x"),
    undefined,
    "one arm: no chart",
  );
});

Deno.test("batchingIndexChart: throughput above p95 latency, invalid repeats crossed, the knee ruled (snapshot)", async () => {
  const thr: Record<number, number> = { 1: 10, 2: 20, 4: 38, 8: 41, 16: 42 };
  const rows: Row[] = Object.entries(thr).flatMap(([c, t]) =>
    [1, 2].map((rep) => ({
      sweep: "concurrency",
      concurrency: c,
      throughput_rps: String(t + rep / 10),
      e2e_p95_ms: String(100 * Number(c) + rep),
      valid: c === "16" && rep === 2 ? "false" : "true",
    }))
  );
  const chart = batchingIndexChart(rows, "SIMULATED: test rows", 0.2)!;
  const svg = await assertSnapshot(chart, "batching", "batching_index");
  assert.match(svg, />knee c=4</, "the knee rule of knee.ts at c=4");
  assert.equal((svg.match(/<svg /g) ?? []).length, 3, "two charts stacked in one image");
  assert.equal(marks(svg, "dot", /stroke="#d62728"/), 2, "the invalid repeat crossed in both panels");
  assert.equal(batchingIndexChart([], "x", 0.2), undefined);
});
