/**
 * HTML fragments for the write-up and the index in which every number is a fact: the `h` template escapes
 * text, renders a {@link Fact} as its span, and refuses a bare number (a number the reader sees must say
 * where it comes from).
 * @module
 */
import { $display, type Displayable, escapeHtml, htmlToText } from "./bundle.ts";
import { escapeMarkdown } from "./markdown.ts";
import { type Fact, factHtml } from "./fact.ts";

/** Trusted HTML built by {@link h}. */
export interface Html {
  readonly kind: "html";
  readonly html: string;
}

/** What `h` interpolates: text (escaped), facts (spans), fragments, lists of them; undefined shows
 * "not measured". Numbers are refused. */
export type HtmlValue = string | Fact | Html | undefined | null | boolean | readonly HtmlValue[];

function isFact(v: unknown): v is Fact {
  return typeof v === "object" && v !== null && "id" in v && "source" in v && "value" in v;
}

function isHtml(v: unknown): v is Html {
  return typeof v === "object" && v !== null && (v as Html).kind === "html";
}

function render(v: HtmlValue): string {
  if (v === undefined || v === null) return "<em>not measured</em>";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") {
    throw new Error(
      `A bare number (${v}) in write-up HTML: show it as a fact (FactBook.add) so it traces to a CSV.`,
    );
  }
  if (Array.isArray(v)) return v.map(render).join("");
  if (isHtml(v)) return v.html;
  if (isFact(v)) return factHtml(v);
  return escapeHtml(v);
}

/**
 * Tagged template: HTML with escaped text, facts as spans, nested fragments kept.
 *
 * @example
 * ```ts
 * h`<p>Warm TTFT p50 is ${fact}, model ${modelName}.</p>`;
 * ```
 */
export function h(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let html = strings[0];
  values.forEach((v, i) => html += render(v) + strings[i + 1]);
  return { kind: "html", html };
}

/** Trusted markup the lab wrote (no data in it), e.g. `<br>`. */
export function raw(html: string): Html {
  return { kind: "html", html };
}

/** Text in a `<code>` element (exempt from the fact rule: commands, ids, versions). */
export function codeText(text: string): Html {
  return raw(`<code>${escapeHtml(text)}</code>`);
}

/** A link whose text is the file name. */
export function fileLink(href: string, text = href): Html {
  return raw(`<a href="${escapeHtml(encodeURI(href))}">${escapeHtml(text)}</a>`);
}

/** A table: header texts and rows of values. */
export function htmlTable(columns: readonly string[], rows: readonly HtmlValue[][], caption?: string): Html {
  // Inline alignment: JupyterLab's CSS right-aligns every output cell, which misreads text columns.
  const l = raw(' style="text-align:left;vertical-align:top"');
  return h`<table class="writeup">${caption ? h`<caption>${caption}</caption>` : ""}<thead><tr>${
    columns.map((c) => h`<th${l}>${c}</th>`)
  }</tr></thead><tbody>${rows.map((r) => h`<tr>${r.map((c) => h`<td${l}>${c}</td>`)}</tr>`)}</tbody></table>`;
}

/** Preformatted text (commands): exempt from the fact rule like code. */
export function preText(text: string): Html {
  return raw(
    `<pre style="white-space:pre-wrap;font-family:monospace;background:#f6f6f6;padding:.5em">${
      escapeHtml(text)
    }</pre>`,
  );
}

/** A bulleted (or numbered) list. */
export function htmlList(items: readonly HtmlValue[], ordered = false): Html {
  const tag = ordered ? "ol" : "ul";
  return raw(`<${tag}>${items.map((i) => `<li>${render(i)}</li>`).join("")}</${tag}>`);
}

/**
 * A fragment as a notebook output (text/html, a text fallback; a `# title` as text/markdown when given, so
 * the HTML export takes the page title from it).
 *
 * @example
 * ```ts
 * await show(htmlOutput(h`<h2>Key numbers</h2>`));
 * ```
 */
export function htmlOutput(fragment: Html, title?: string): Displayable {
  const bundle: Record<string, string> = {
    "text/html": fragment.html,
    "text/plain": htmlToText(fragment.html),
  };
  if (title) bundle["text/markdown"] = `# ${escapeMarkdown(title)}`;
  return { [$display]: () => bundle };
}
