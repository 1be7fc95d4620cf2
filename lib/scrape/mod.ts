/**
 * lib/scrape: the server's side of a measurement: Prometheus text parsing and histogram math.
 * See shared/DESIGN.md, "Server view beside client view".
 * @module
 */
export * from "./prom_text.ts";
export * from "./histogram.ts";
