/**
 * Markdown for notebook outputs and write-ups, safe against what it quotes: every interpolated value is
 * HTML-escaped and its Markdown punctuation backslash-escaped, so text from prompts or servers cannot
 * inject markup, links or table cells. Nest `md` results (or `code()`, `rawMd()`) to keep markup.
 * @module
 */
import { $display, type Displayable, escapeHtml } from "./bundle.ts";

/** Markdown text with a display method; `text` is the Markdown, `plain` a terminal rendering. */
export interface Markdown extends Displayable {
  readonly kind: "markdown";
  readonly text: string;
  readonly plain: string;
}

function markdown(text: string, plain: string): Markdown {
  return {
    kind: "markdown",
    text,
    plain,
    [$display]: () => ({ "text/markdown": text, "text/plain": plain }),
  };
}

/** True for the objects `md`, `code` and `rawMd` return. */
export function isMarkdown(x: unknown): x is Markdown {
  return typeof x === "object" && x !== null && (x as Markdown).kind === "markdown" &&
    typeof (x as Markdown).text === "string";
}

/**
 * Escapes text for Markdown: a backslash before `\ ` * _ [ ] | #`, then `&`, `<` and `>` as HTML
 * entities (so no tag survives). Quotes stay as they are: outside attributes they cannot open anything,
 * and an entity such as `&#39;` would show literally in a .md file read as text.
 */
export function escapeMarkdown(text: unknown): string {
  return String(text).replace(/[\\`*_[\]|#]/g, (c) => `\\${c}`)
    .replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function fmt(v: unknown): { text: string; plain: string } {
  if (isMarkdown(v)) return { text: v.text, plain: v.plain };
  if (v === undefined || v === null) return { text: "n/a", plain: "n/a" };
  if (Array.isArray(v)) {
    const parts = v.map(fmt);
    return { text: parts.map((p) => p.text).join(", "), plain: parts.map((p) => p.plain).join(", ") };
  }
  const s = typeof v === "number" && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : String(v);
  return { text: escapeMarkdown(s), plain: s };
}

/**
 * Tagged template for Markdown with escaped interpolations. Numbers are shown with 6 significant digits,
 * `undefined` as "n/a", arrays comma-separated; nested Markdown is kept as is.
 *
 * @example
 * ```ts
 * await show(md`**${df.height}** requests to ${serverModelName}`); // a name like "<b>" shows literally
 * ```
 */
export function md(strings: TemplateStringsArray, ...values: unknown[]): Markdown {
  let text = strings[0];
  let plain = strings[0];
  values.forEach((v, i) => {
    const f = fmt(v);
    text += f.text + strings[i + 1];
    plain += f.plain + strings[i + 1];
  });
  return markdown(text, plain);
}

/**
 * Inline code for Markdown (an HTML `<code>` element, since Markdown code spans cannot hold escapes).
 *
 * @example
 * ```ts
 * md`column ${code("ttft_ms")} holds milliseconds`;
 * ```
 */
export function code(text: unknown): Markdown {
  return markdown(`<code>${escapeHtml(text)}</code>`, String(text));
}

/**
 * Trusted Markdown, inserted unescaped. Only for text the lab wrote itself (never prompts or server text).
 *
 * @example
 * ```ts
 * md`${rawMd("| a | b |\n|---|---|")}`;
 * ```
 */
export function rawMd(text: string): Markdown {
  return markdown(text, text);
}
