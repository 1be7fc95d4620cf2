import assert from "node:assert/strict";
import * as Plot from "@observablehq/plot";
import { assertSnapshot, decodeImgs, roundNumbers } from "./_snapshot.ts";
import { $display } from "./bundle.ts";
import { plot, plotSvg } from "./plot.ts";

const rows = [1, 2, 4, 8, 16].map((c) => ({
  concurrency: c,
  ttft_ms: 40 + 3.3 * c,
  kind: c < 8 ? "low" : "high",
}));
const SNAPSHOT = new URL("./testdata/ttft_line.svg.snap", import.meta.url);

Deno.test("plotSvg matches the snapshot (numbers rounded)", async () => {
  const svg = roundNumbers(plotSvg({
    width: 400,
    height: 240,
    y: { label: "TTFT (ms)", grid: true },
    marks: [
      Plot.lineY(rows, { x: "concurrency", y: "ttft_ms" }),
      Plot.dot(rows, { x: "concurrency", y: "ttft_ms" }),
    ],
  }));
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  await assertSnapshot(svg, SNAPSHOT);
});

Deno.test("plot() emits an <img> data URL with the chart and escaped title and caption", () => {
  const chart = plot({
    title: "TTFT <by> concurrency",
    caption: "p50 & p95",
    color: { legend: true },
    marks: [Plot.dot(rows, { x: "concurrency", y: "ttft_ms", fill: "kind" })],
  });
  const bundle = chart[$display]();
  const html = String(bundle["text/html"]);
  assert.ok(!html.includes("<svg"), "inline SVG is stripped in untrusted notebooks; it must be an image");
  assert.ok(
    html.includes("TTFT &lt;by&gt; concurrency") && html.includes("<figcaption>p50 &amp; p95</figcaption>"),
  );
  const imgs = decodeImgs(html);
  assert.equal(imgs.length, 2, "a swatch legend image and the chart image");
  assert.ok(imgs[0].includes(">low</text>") && imgs[0].includes(">high</text>"));
  assert.equal(imgs[1], chart.svg);
  assert.ok(chart.svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(chart.svg.includes('aria-label="dot"'));
  assert.equal(bundle["text/plain"], "[chart: TTFT <by> concurrency] p50 & p95");
});

Deno.test("a continuous colour legend renders through the canvas shim", () => {
  const chart = plot({
    color: { type: "linear", legend: true },
    marks: [Plot.dot(rows, { x: "concurrency", y: "ttft_ms", fill: "ttft_ms" })],
  });
  assert.equal(chart.legends.length, 1);
  const ramp = chart.legends[0];
  assert.ok(
    !ramp.includes("xlink:") || ramp.includes("xmlns:xlink="),
    "an xlink: prefix needs its namespace",
  );
  const inner = ramp.match(/href="data:image\/svg\+xml;base64,([^"]+)"/);
  assert.ok(inner, "the ramp image comes from the shim's toDataURL");
  const rampSvg = atob(inner[1]);
  assert.equal((rampSvg.match(/<rect /g) ?? []).length, 256);
});
