/**
 * Observable Plot charts without a browser: rendered with linkedom, shown in notebooks as an HTML
 * `<img>` of the chart's SVG (a data URL), which survives untrusted notebooks where JupyterLab strips
 * inline `<svg>` (shared/reference/deno-notebooks.md §2). Title, subtitle and caption are HTML text
 * around the image; legends are drawn as SVG images too. `plotSvg` returns the chart's SVG text.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { $display, type Displayable, escapeHtml } from "./bundle.ts";

/** Plot's options; `title`, `subtitle` and `caption` are text here (rendered by the lab, escaped). */
export type PlotOptions = Omit<Plot.PlotOptions, "title" | "subtitle" | "caption" | "document"> & {
  title?: string;
  subtitle?: string;
  caption?: string;
};

/** A rendered chart: the SVG texts and a display method giving the untrusted-safe HTML. */
export interface Chart extends Displayable {
  readonly kind: "chart";
  /** The chart's SVG (xmlns added, white background), as for a .svg file. */
  readonly svg: string;
  /** Legends (colour ramps or swatches) as standalone SVGs, in order. */
  readonly legends: readonly string[];
  readonly title?: string;
  readonly subtitle?: string;
  readonly caption?: string;
  /** HTML with `<img src="data:image/svg+xml;base64,...">` for the chart and legends. */
  readonly html: string;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const XLINK_NS = "http://www.w3.org/1999/xlink";

/**
 * A stand-in for the 256x1 canvas Plot paints continuous colour ramps on (linkedom has no canvas):
 * it records the colour of each pixel and returns them as an SVG data URL.
 */
function canvasShim() {
  const fills: { x: number; color: string }[] = [];
  const ctx = {
    fillStyle: "#000",
    fillRect(x: number) {
      fills.push({ x, color: String(ctx.fillStyle) });
    },
  };
  const canvas = {
    width: 256,
    height: 1,
    getContext: () => ctx,
    toDataURL() {
      const rects = fills.map((f) => `<rect x="${f.x}" y="0" width="1.5" height="1" fill="${f.color}"/>`)
        .join("");
      const svg = `<svg xmlns="${SVG_NS}" viewBox="0 0 ${canvas.width} ${canvas.height}" ` +
        `preserveAspectRatio="none">${rects}</svg>`;
      return `data:image/svg+xml;base64,${base64(svg)}`;
    },
  };
  return canvas;
}

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function newDocument(): Document {
  const { document } = parseHTML("<!doctype html><html><body></body></html>");
  const create = document.createElement.bind(document);
  document.createElement =
    ((tag: string, opts?: ElementCreationOptions) =>
      tag.toLowerCase() === "canvas" ? canvasShim() : create(tag, opts)) as typeof document.createElement;
  return document as unknown as Document;
}

/** Makes an `<svg>` element standalone: namespaces, black text on white, and its serialised text. */
function standalone(svg: Element): string {
  svg.setAttribute("xmlns", SVG_NS);
  if (svg.outerHTML.includes("xlink:")) svg.setAttribute("xmlns:xlink", XLINK_NS);
  const style = svg.getAttribute("style");
  svg.setAttribute("style", `${style ? style + ";" : ""}background:white;color:black`);
  return svg.outerHTML;
}

/** Turns Plot's HTML swatch legend (spans holding a small svg and a label) into one SVG. */
function swatchesSvg(div: Element): string {
  let x = 0;
  const parts: string[] = [];
  for (const span of Array.from(div.children).filter((c) => c.tagName.toLowerCase() === "span")) {
    const sw = Array.from(span.children).find((c) => c.tagName.toLowerCase() === "svg");
    const label = span.textContent ?? "";
    if (sw) {
      sw.setAttribute("x", String(x));
      sw.setAttribute("y", "2");
      parts.push(sw.outerHTML);
    }
    parts.push(`<text x="${x + 20}" y="14">${escapeHtml(label)}</text>`);
    x += 20 + Math.ceil(label.length * 6.2) + 16;
  }
  return `<svg xmlns="${SVG_NS}" width="${x}" height="20" viewBox="0 0 ${x} 20" font-family="system-ui, sans-serif" ` +
    `font-size="10" fill="currentColor" style="background:white;color:black">${parts.join("")}</svg>`;
}

function render(options: PlotOptions): { svg: string; legends: string[] } {
  const { title: _t, subtitle: _s, caption: _c, ...rest } = options;
  const el = Plot.plot({ ...rest, document: newDocument() } as Plot.PlotOptions) as unknown as Element;
  if (el.tagName.toLowerCase() === "svg") return { svg: standalone(el), legends: [] };
  const children = Array.from(el.children);
  const svgs = children.filter((c) => c.tagName.toLowerCase() === "svg");
  const chart = svgs.at(-1);
  if (!chart) throw new Error("Plot returned a figure without a chart <svg>; check the plot options' marks.");
  const legends: string[] = [];
  for (const c of children) {
    if (c === chart) continue;
    const tag = c.tagName.toLowerCase();
    if (tag === "svg") legends.push(standalone(c));
    else if (tag === "div" && c.querySelector("span svg")) legends.push(swatchesSvg(c));
  }
  return { svg: standalone(chart), legends };
}

function img(svg: string, alt: string): string {
  return `<img src="data:image/svg+xml;base64,${base64(svg)}" alt="${
    escapeHtml(alt)
  }" style="max-width:100%">`;
}

/**
 * Renders a chart for `show()`: text/html with the chart (and legends) as `<img>` data URLs, so it
 * displays in untrusted notebooks and HTML exports alike. Continuous colour legends work.
 *
 * @example
 * ```ts
 * await show(plot({ title: "TTFT by concurrency", marks: [Plot.lineY(rows, { x: "n", y: "ttft_ms" })] }));
 * ```
 */
export function plot(options: PlotOptions): Chart {
  const { svg, legends } = render(options);
  const { title, subtitle, caption } = options;
  const alt = title ?? caption ?? "chart";
  const html = [
    `<figure style="margin:0">`,
    title ? `<div style="font-weight:bold;font-size:1.1em">${escapeHtml(title)}</div>` : "",
    subtitle ? `<div>${escapeHtml(subtitle)}</div>` : "",
    ...legends.map((l) => `<div>${img(l, "legend")}</div>`),
    `<div>${img(svg, alt)}</div>`,
    caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : "",
    `</figure>`,
  ].join("");
  const plain = `[chart${title ? `: ${title}` : ""}]${caption ? ` ${caption}` : ""}`;
  return {
    kind: "chart",
    svg,
    legends,
    title,
    subtitle,
    caption,
    html,
    [$display]: () => ({ "text/html": html, "text/plain": plain }),
  };
}

/**
 * The chart's SVG text (xmlns added), for writing `.svg` files and for snapshot tests.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile(`${run.dir}/ttft.svg`, plotSvg({ marks: [Plot.dot(rows, { x: "n", y: "ttft_ms" })] }));
 * ```
 */
export function plotSvg(options: PlotOptions): string {
  return render(options).svg;
}

/** The `width` and `height` attributes of a rendered chart's root `<svg>`. */
function svgSize(svg: string): { width: number; height: number } {
  const head = svg.slice(0, svg.indexOf(">"));
  const num = (a: string) => Number(new RegExp(`\\s${a}="([0-9.]+)"`).exec(head)?.[1]);
  const width = num("width");
  const height = num("height");
  if (!(width > 0 && height > 0)) throw new Error("plotStack: a part rendered without a width and height.");
  return { width, height };
}

/**
 * Charts stacked in one image, top to bottom, sharing a title (e.g. throughput above latency, both against
 * concurrency: two y units that one Plot scale cannot hold). Each part is a Plot's options without title.
 *
 * @example
 * ```ts
 * plotStack({ title: "Throughput and p95 latency against concurrency" }, [throughputOpts, latencyOpts]);
 * ```
 */
export function plotStack(
  head: { title?: string; subtitle?: string; caption?: string },
  parts: readonly PlotOptions[],
): Chart {
  if (!parts.length) throw new Error("plotStack needs at least one part.");
  const rendered = parts.map((p) => render(p));
  const sizes = rendered.map((r) => svgSize(r.svg));
  const width = Math.max(...sizes.map((s) => s.width));
  const height = sizes.reduce((n, s) => n + s.height, 0);
  let y = 0;
  const inner = rendered.map((r, i) => {
    const at = r.svg.replace(/^<svg/, `<svg x="0" y="${y}"`);
    y += sizes[i].height;
    return at;
  });
  const svg = `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `style="background:white;color:black">${inner.join("")}</svg>`;
  const legends = rendered.flatMap((r) => r.legends);
  const { title, subtitle, caption } = head;
  const html = [
    `<figure style="margin:0">`,
    title ? `<div style="font-weight:bold;font-size:1.1em">${escapeHtml(title)}</div>` : "",
    subtitle ? `<div>${escapeHtml(subtitle)}</div>` : "",
    ...legends.map((l) => `<div>${img(l, "legend")}</div>`),
    `<div>${img(svg, title ?? caption ?? "chart")}</div>`,
    caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : "",
    `</figure>`,
  ].join("");
  const plain = `[chart${title ? `: ${title}` : ""}]${caption ? ` ${caption}` : ""}`;
  return {
    kind: "chart",
    svg,
    legends,
    title,
    subtitle,
    caption,
    html,
    [$display]: () => ({ "text/html": html, "text/plain": plain }),
  };
}
