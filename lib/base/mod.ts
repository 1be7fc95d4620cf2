/**
 * lib/base: the bottom layer every other folder may share, importing nothing else in lib: seeded random
 * numbers, descriptive statistics (one percentile, mean, median), the macrotask yielder and the load-target
 * guard (loopback unless allowed), an abortable sleep, the notebook kernel handle (`jupyter`, `flush`) and
 * `escapeHtml`. See shared/DESIGN.md.
 * @module
 */
export * from "./random.ts";
export * from "./stats.ts";
export * from "./macrotask.ts";
export * from "./target.ts";
export * from "./sleep.ts";
export * from "./jupyter.ts";
export * from "./escape_html.ts";
export * from "./guarded_fetch.ts";
