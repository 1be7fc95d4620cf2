/**
 * servelab's public API: the only import path for notebooks and the CLI.
 *
 * One barrel per area; each area's mod.ts lists what it exports.
 * @module
 */
export * from "./engine/mod.ts";
export * from "./probe/mod.ts";
export * from "./scrape/mod.ts";
export * from "./analysis/mod.ts";
export * from "./report/mod.ts";
export * from "./run/mod.ts";
export * from "./sim/mod.ts";
export * from "./tiers/mod.ts";
export * from "./compare/mod.ts";
export * from "./tinymodel/mod.ts";
export * from "./health/mod.ts";
export * from "./writeup/mod.ts";
