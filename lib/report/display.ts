/**
 * Showing things from notebook cells, safely. The Deno kernel (2.9) can publish a cell's last outputs
 * after it reports the cell idle, which drops them or moves them into the next cell (the output race,
 * shared/reference/deno-notebooks.md §1a). So cells never rely on their last expression: they call
 * `await show(...)`, which displays each item explicitly and then sleeps briefly so the kernel publishes
 * before the cell ends. Outside a notebook, `show` prints a text rendering with console.log.
 * @module
 */
import { $display, htmlToText, isDisplayable, type MediaBundle } from "./bundle.ts";
import { flush, jupyter } from "../base/jupyter.ts";
import { isDataFrame, table } from "./table.ts";

// The kernel handle and flush live in lib/base so lib/run's progress can use them; re-exported here.
export { flush, FLUSH_MS, inNotebook, jupyter } from "../base/jupyter.ts";

/**
 * The MIME bundle for any value: display objects give their own; DataFrames become {@link table}s (with
 * UInt64 columns cast); DOM elements their outerHTML; anything else text/plain.
 *
 * @example
 * ```ts
 * toBundle(42); // { "text/plain": "42" }
 * ```
 */
export function toBundle(item: unknown): MediaBundle {
  if (isDataFrame(item)) return table(item)[$display]();
  if (isDisplayable(item)) return item[$display]();
  if (typeof item === "string") return { "text/plain": item };
  const outer = (item as { outerHTML?: unknown } | null)?.outerHTML;
  if (typeof outer === "string") return { "text/html": outer, "text/plain": htmlToText(outer) };
  return { "text/plain": Deno.inspect(item, { colors: false, depth: 4 }) };
}

/**
 * A text rendering of any value (text/plain, else Markdown, else HTML without tags).
 *
 * @example
 * ```ts
 * toText(md`**${3}** rows`); // "**3** rows"
 * ```
 */
export function toText(item: unknown): string {
  const b = toBundle(item);
  const text = b["text/plain"] ?? b["text/markdown"] ??
    (typeof b["text/html"] === "string" ? htmlToText(b["text/html"]) : undefined);
  return typeof text === "string" ? text : JSON.stringify(b);
}

/**
 * Displays each item as its own output, in order, then waits for the kernel to publish them.
 * `undefined` items are skipped. Outside a notebook each item is printed with console.log.
 *
 * @example
 * ```ts
 * await show(md`## TTFT`, table(summary), plot({ marks: [Plot.dot(rows, { x: "n", y: "ttft_ms" })] }));
 * ```
 */
export async function show(...items: unknown[]): Promise<void> {
  const j = jupyter();
  for (const item of items) {
    if (item === undefined) continue;
    if (j) await j.display(toBundle(item), { raw: true });
    else console.log(toText(item));
  }
  if (j) await flush();
}
