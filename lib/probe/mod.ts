/** lib/probe: see shared/DESIGN.md. @module */
export type * from "./types.ts";
