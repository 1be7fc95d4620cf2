/**
 * MIME bundles: what a notebook output is made of. Anything with a `[Symbol.for("Jupyter.display")]()`
 * method is shown by the Deno kernel through the bundle it returns; the report helpers build such
 * objects as plain data.
 * @module
 */

/** The kernel's display symbol (the same as `Deno.jupyter.$display`, usable outside the kernel). */
export const $display: unique symbol = Symbol.for("Jupyter.display") as never;

/** MIME type -> data, e.g. `{ "text/html": "<b>x</b>", "text/plain": "x" }`. */
export type MediaBundle = Record<string, string | object>;

/** An object the kernel (and {@link show}) can display. */
export interface Displayable {
  [$display](): MediaBundle;
}

/** True when `x` has a display method. */
export function isDisplayable(x: unknown): x is Displayable {
  return (typeof x === "object" || typeof x === "function") && x !== null &&
    typeof (x as Record<symbol, unknown>)[$display] === "function";
}

/**
 * Wraps a bundle as a displayable object, with extra plain fields for code that reads it.
 *
 * @example
 * ```ts
 * displayable({ "text/html": "<b>hi</b>", "text/plain": "hi" });
 * ```
 */
export function displayable<T extends object>(bundle: MediaBundle, fields?: T): T & Displayable {
  return { ...fields, [$display]: () => bundle } as T & Displayable;
}

// escapeHtml lives in lib/base so lib/run's progress can use it; re-exported here.
export { escapeHtml } from "../base/escape_html.ts";

/** Strips tags and decodes the five escapes: a rough text view of an HTML fragment. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/div|\/tr|\/h\d|\/li|\/figcaption)[^>]*>/gi, "\n")
    .replace(/<\/t[dh]>/gi, "\t")
    .replace(/<[^>]*>/g, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
