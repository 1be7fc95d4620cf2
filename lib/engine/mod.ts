/** lib/engine: see shared/DESIGN.md. @module */
export * from "./config.ts";
export type * from "./types.ts";
export * from "./argv.ts";
