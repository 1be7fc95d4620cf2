/**
 * Test helpers for chart snapshots (private: imported by tests only): SVG numbers rounded so snapshots
 * survive float noise, the `<img>` data URLs of a chart's HTML decoded, and a snapshot compared (or, with
 * `SERVELAB_UPDATE_SNAPSHOTS=1`, rewritten). Snapshots are `.svg.snap`, not `.svg`: deno fmt reformats
 * `.svg` files.
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { $display } from "./bundle.ts";
import type { Chart } from "./plot.ts";

/** Rounds every decimal number in an SVG to 2 places, so snapshots survive float noise. */
export function roundNumbers(svg: string): string {
  return svg.replace(/-?\d+\.\d+/g, (n) => String(Math.round(Number(n) * 100) / 100));
}

/** The SVG texts of the `<img src="data:image/svg+xml;base64,...">` of an HTML string, in order. */
export function decodeImgs(html: string): string[] {
  return [...html.matchAll(/<img src="data:image\/svg\+xml;base64,([^"]+)"/g)].map((m) =>
    new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)))
  );
}

/**
 * `svg` equals the snapshot file at `snapshot` (a file URL, e.g.
 * `new URL("./testdata/x.svg.snap", import.meta.url)`); with SERVELAB_UPDATE_SNAPSHOTS=1 it first
 * rewrites the file.
 */
export async function assertSnapshot(svg: string, snapshot: URL): Promise<void> {
  const path = fileURLToPath(snapshot);
  if (Deno.env.get("SERVELAB_UPDATE_SNAPSHOTS") === "1") await Deno.writeTextFile(path, svg);
  assert.equal(svg, await Deno.readTextFile(path), "run with SERVELAB_UPDATE_SNAPSHOTS=1 to accept a change");
}

/**
 * The chart shows as an `<img>` data URL of its SVG (no inline `<svg>`), with no undefined or NaN, and its
 * SVG (numbers rounded) matches the snapshot `./testdata/NAME.svg.snap` beside the test module `testUrl`
 * (pass `import.meta.url`). Returns the rounded SVG.
 */
export async function assertRendersAndMatches(chart: Chart, testUrl: string, name: string): Promise<string> {
  const html = String(chart[$display]()["text/html"]);
  assert.ok(!html.includes("<svg"), "inline SVG is stripped in untrusted notebooks; it must be an image");
  assert.equal(decodeImgs(html).at(-1), chart.svg, "the last <img> is the chart's SVG");
  assert.doesNotMatch(html, /undefined|NaN/);
  const svg = roundNumbers(chart.svg);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  await assertSnapshot(svg, new URL(`./testdata/${name}.svg.snap`, testUrl));
  return svg;
}

/** The SVG with decimals rounded to 2 places (the lesson tests' name for {@link roundNumbers}). */
export function roundSvgNumbers(svg: string): string {
  return roundNumbers(svg);
}

/** The chart shows as <img> data URLs only (no inline <svg>, no undefined/NaN) and matches the snapshot file at
 * `snapshot`. Returns the rounded SVG. */
export async function assertChartSnapshot(chart: Chart, snapshot: URL): Promise<string> {
  const html = String(chart[$display]()["text/html"]);
  assert.ok(!html.includes("<svg"), "inline SVG is stripped in untrusted notebooks; it must be an image");
  assert.match(html, /<img src="data:image\/svg\+xml;base64,/);
  assert.doesNotMatch(html + chart.svg, /undefined|NaN/);
  const svg = roundNumbers(chart.svg);
  await assertSnapshot(svg, snapshot);
  return svg;
}
