/**
 * Test helper for chart snapshots (used by the tiers' lesson tests): the SVG with decimals rounded to 2
 * places, compared with `testdata/<name>.svg.snap` beside the test; `SERVELAB_UPDATE_SNAPSHOTS=1` rewrites it.
 * @module
 */
import assert from "node:assert/strict";
import { $display } from "./bundle.ts";
import type { Chart } from "./plot.ts";

/** Rounds every decimal number in an SVG to 2 places, so snapshots survive float noise. */
export function roundSvgNumbers(svg: string): string {
  return svg.replace(/-?\d+\.\d+/g, (n) => String(Math.round(Number(n) * 100) / 100));
}

/** The chart shows as <img> data URLs only (no inline <svg>, no undefined/NaN) and matches its snapshot. */
export async function assertChartSnapshot(chart: Chart, snapshot: URL): Promise<string> {
  const html = String(chart[$display]()["text/html"]);
  assert.ok(!html.includes("<svg"), "inline SVG is stripped in untrusted notebooks; it must be an image");
  assert.match(html, /<img src="data:image\/svg\+xml;base64,/);
  assert.doesNotMatch(html + chart.svg, /undefined|NaN/);
  const svg = roundSvgNumbers(chart.svg);
  const path = snapshot.pathname;
  if (Deno.env.get("SERVELAB_UPDATE_SNAPSHOTS") === "1") await Deno.writeTextFile(path, svg);
  assert.equal(svg, await Deno.readTextFile(path), "run with SERVELAB_UPDATE_SNAPSHOTS=1 to accept a change");
  return svg;
}
