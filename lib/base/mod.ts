/**
 * lib/base: the bottom layer every other folder may share, importing nothing else in lib: seeded random
 * numbers, descriptive statistics (one percentile, mean, median), the macrotask yielder and the load-target
 * guard (loopback unless allowed) and an abortable sleep. See shared/DESIGN.md.
 * @module
 */
export * from "./random.ts";
export * from "./stats.ts";
export * from "./macrotask.ts";
export * from "./target.ts";
export * from "./sleep.ts";
