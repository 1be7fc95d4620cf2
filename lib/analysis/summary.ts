/**
 * Long-format summaries of a set of request records: one row per (metric, stat) with its unit, ready for
 * polars and for CSVs (`metric,stat,value,unit`).
 *
 * Warm-up records are left out. Latency and rate statistics are over successful requests (a failed
 * request has no latency worth averaging; it is counted under `requests`/`errors` instead). ITL is
 * pooled over every gap of every successful request (vLLM bench's ITL).
 * @module
 */
import type { RequestRecord } from "../probe/types.ts";
import { itl_ms, REQUEST_METRICS } from "./request_metrics.ts";
import { summarize, SUMMARY_STATS } from "../base/stats.ts";

/** One long-format summary row. */
export interface SummaryRow {
  metric: string;
  stat: string;
  value: number;
  unit: string;
}

/** The columns of a summary CSV, in order. */
export const SUMMARY_COLUMNS = ["metric", "stat", "value", "unit"] as const;

/**
 * Summarizes records in long format: request counts, errors by kind, the measured window, throughput,
 * and n/mean/p50/p90/p95/p99/max/std of every per-request metric plus pooled ITL. Rows whose value does
 * not apply are omitted (never written as 0).
 *
 * @example
 * ```ts
 * import { summarizeRecords } from "./summary.ts";
 * const rows = summarizeRecords([]); // [{ metric: "requests", stat: "total", value: 0, unit: "requests" }, ...]
 * ```
 */
export function summarizeRecords(records: readonly RequestRecord[]): SummaryRow[] {
  const measured = records.filter((r) => r.phase !== "warmup");
  const ok = measured.filter((r) => r.ok);
  const rows: SummaryRow[] = [
    { metric: "requests", stat: "total", value: measured.length, unit: "requests" },
    { metric: "requests", stat: "ok", value: ok.length, unit: "requests" },
    { metric: "requests", stat: "failed", value: measured.length - ok.length, unit: "requests" },
  ];
  const errors = new Map<string, number>();
  for (const r of measured) {
    if (!r.ok) errors.set(r.error_kind ?? "unknown", (errors.get(r.error_kind ?? "unknown") ?? 0) + 1);
  }
  for (const [kind, n] of [...errors].sort()) {
    rows.push({ metric: "errors", stat: kind, value: n, unit: "requests" });
  }

  if (measured.length > 0) {
    const start = Math.min(...measured.map((r) => r.t_send_ms));
    const end = Math.max(...measured.map((r) => r.t_end_ms));
    const duration_s = (end - start) / 1000;
    rows.push({ metric: "duration_s", stat: "value", value: duration_s, unit: "s" });
    if (duration_s > 0) {
      const out = ok.reduce((sum, r) => sum + (r.completion_tokens ?? 0), 0);
      rows.push({
        metric: "request_throughput",
        stat: "value",
        value: ok.length / duration_s,
        unit: "requests/s",
      });
      if (ok.every((r) => r.completion_tokens !== undefined)) {
        rows.push({ metric: "output_throughput", stat: "value", value: out / duration_s, unit: "tokens/s" });
      }
    }
  }

  for (const [metric, def] of Object.entries(REQUEST_METRICS)) {
    pushStats(rows, metric, def.unit, ok.map(def.of));
  }
  pushStats(rows, "itl_ms", "ms", ok.flatMap((r) => itl_ms(r) ?? []));
  return rows;
}

function pushStats(rows: SummaryRow[], metric: string, unit: string, values: (number | undefined)[]): void {
  const s = summarize(values);
  for (const stat of SUMMARY_STATS) {
    const value = s[stat];
    if (value === undefined) continue;
    rows.push({ metric, stat, value, unit: stat === "n" ? "count" : unit });
  }
}
