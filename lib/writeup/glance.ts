/**
 * The run index's "at a glance": for each tier, its key chart (the Tier contract's `indexChart`: cold
 * against warm TTFT, caching off against on, max concurrency against max-model-len, throughput and p95
 * latency against concurrency with the knee) as an image linking to the tier's notebook report, next to
 * the tier's key numbers (facts). The charts' titles, subtitles and captions are left out: the page's
 * visible numbers must all be facts (lib/writeup/trace.ts), and a chart's own text is inside its image.
 * @module
 */
import { escapeHtml } from "../report/bundle.ts";
import type { RunData } from "../report/fact_book.ts";
import type { Fact } from "../report/fact.ts";
import { h, htmlTable } from "../report/html.ts";
import type { AnyTier } from "../tiers/tier.ts";
import { engineText } from "./sections.ts";

/** The page's CSS for the glance cards (two columns when there is room). */
export const GLANCE_CSS =
  ".glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(24em,1fr));gap:1em}" +
  ".glance section{border:1px solid #ddd;border-radius:.4em;padding:.5em .8em}" +
  ".glance h3{margin:.2em 0 .4em}.glance img{max-width:100%;height:auto;display:block}" +
  ".glance .nochart{color:#666;font-style:italic}";

/** The `<img>` tags of a chart's HTML (legends, then the chart), without the text around them. */
export function chartImages(chartHtml: string): string[] {
  return [...chartHtml.matchAll(/<img src="data:image\/svg\+xml;base64,[^"]+"[^>]*>/g)].map((m) => m[0]);
}

/**
 * The glance cards as HTML, one per tier in order; a tier without data for its chart says so.
 *
 * @example
 * ```ts
 * const html = glanceHtml(book.data, runFacts(book), TIERS, names);
 * ```
 */
export function glanceHtml(
  data: RunData,
  facts: Readonly<Record<string, unknown>>,
  tiers: readonly AnyTier[],
  names: readonly string[],
): string {
  const label = engineText(data);
  const e = escapeHtml;
  const cards = tiers.map((t) => {
    const page = names.includes(`${t.notebook}.html`) ? `${t.notebook}.html` : undefined;
    const href = page ? e(encodeURI(page)) : undefined;
    const chart = t.indexChart?.(data, label);
    const imgs = chart ? chartImages(chart.html) : [];
    const link = (inner: string) => href ? `<a href="${href}" class="tier-link">${inner}</a>` : inner;
    const picture = imgs.length
      ? `<div class="chart" data-tier="${e(t.key)}">${link(imgs.join(""))}</div>`
      : `<p class="nochart">${t.indexChart ? "No data for this tier's chart in this run." : "No chart."}</p>`;
    const rows = t.keyNumbers(facts[t.key]).filter((k) => k.index !== undefined)
      .map((k) => [k.index!, k.fact] as [string, Fact | undefined]);
    const numbers = rows.some(([, f]) => f !== undefined)
      ? htmlTable(["quantity", "value"], rows.map(([l, f]) => [l, h`${f}`])).html
      : "<p>No key numbers for this tier in this run.</p>";
    return `<section id="glance-${e(t.key)}"><h3>${link(e(t.title))}</h3>${picture}${numbers}</section>`;
  });
  return `<div class="glance">${cards.join("")}</div>`;
}
