/**
 * The client self-check as CSV cells: every tier point that ran a load records whether the client kept
 * up (`client_ok`), its event-loop lag and its send lag, so a point where the client was the bottleneck
 * is marked invalid in the CSVs and drawn as invalid in the charts. See docs/adr/0013-client-fidelity.md.
 * @module
 */
import { z } from "zod";
import { columnsOf, csvBoolean, csvNumber } from "../run/csv.ts";
import type { SelfCheck } from "./load.ts";

/** The self-check columns a tier row carries, as read back (ms rounded to µs; empty when there was no sample). */
export const SelfCheckRow = z.object({
  /** False when the client was too slow for the point (runLoad's threshold): the point is invalid. */
  client_ok: csvBoolean,
  /** p99 of how late a 10 ms timer fired in the client during the point. */
  event_loop_lag_p99_ms: csvNumber.optional(),
  /** p99 of t_send - t_intended: queueing in the client, including waits on a concurrency cap. */
  send_lag_p99_ms: csvNumber.optional(),
  /** p99 of the client's own delay in sending a due request. */
  dispatch_lag_p99_ms: csvNumber.optional(),
  /** Why the client was not ok, when it was not. */
  client_reason: z.string().optional(),
});
/** The self-check cells of one point (see {@link SelfCheckRow}). */
export type SelfCheckCells = z.infer<typeof SelfCheckRow>;

/** Column names of {@link SelfCheckRow}, in CSV order. */
export const SELF_CHECK_COLUMNS = columnsOf(SelfCheckRow);

const r3 = (x: number | undefined) => x === undefined ? undefined : Math.round(x * 1000) / 1000;

/**
 * The CSV cells of one self-check, or of several loads that make one point (all must be ok; the worst
 * p99 of each lag is kept).
 *
 * @example
 * ```ts
 * import { runLoad, selfCheckCells } from "../mod.ts";
 * const load = await runLoad("http://127.0.0.1:8000", [req], { kind: "concurrency", n: 1 });
 * const row = { concurrency: 1, ...selfCheckCells(load.self_check) };
 * ```
 */
export function selfCheckCells(check: SelfCheck | readonly SelfCheck[]): SelfCheckCells {
  const checks: readonly SelfCheck[] = Array.isArray(check) ? check : [check as SelfCheck];
  if (checks.length === 0) {
    throw new TypeError("Cannot summarise zero self-checks: pass the self_check of at least one load.");
  }
  const worst = (pick: (c: SelfCheck) => number | undefined) => {
    const xs = checks.map(pick).filter((x): x is number => x !== undefined);
    return xs.length ? r3(Math.max(...xs)) : undefined;
  };
  const reasons = checks.filter((c) => !c.client_ok).map((c) => c.reason ?? "client self-check failed");
  return {
    client_ok: reasons.length === 0,
    event_loop_lag_p99_ms: worst((c) => c.event_loop_lag.p99_ms),
    send_lag_p99_ms: worst((c) => c.send_lag.p99_ms),
    dispatch_lag_p99_ms: worst((c) => c.dispatch_lag.p99_ms),
    client_reason: reasons.length ? [...new Set(reasons)].join("; ") : undefined,
  };
}
