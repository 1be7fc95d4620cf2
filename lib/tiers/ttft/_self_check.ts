/**
 * The TTFT tier's client self-check (private to the tier). Its requests go one at a time through `probe()`,
 * not `runLoad`, so the tier watches the client itself and builds the same `SelfCheck` that `runLoad`
 * returns, for `selfCheckCells` (docs/adr/0013-client-fidelity.md, section 3):
 * - event-loop lag: how late a repeating 10 ms timer fires while the point runs;
 * - send lag: `t_send_ms - t_intended_ms` of each request; requests of one series go back to back, so a
 *   request is due when the previous one ended, and the first of a series when the tier sends it.
 *
 * The point is invalid (`client_ok` false) when either p99 exceeds the threshold: the client, not the
 * engine, then set part of the TTFT it recorded.
 * @module
 */
import type { Clock } from "../../probe/clock.ts";
import { lagStats, lagVerdict, sampleEventLoopLag, type SelfCheck } from "../../probe/load.ts";
import type { RequestRecord } from "../../probe/types.ts";

/** Options of {@link monitorClient}. */
export interface MonitorClientOptions {
  /** The p99 above which the client was too slow for the point, ms (the tier's `max_client_lag_ms`). */
  max_lag_p99_ms: number;
  /** Event-loop sampling interval, ms. Default 10 (as runLoad). */
  interval_ms?: number;
  /** Named in the reason, so the reader knows which knob sets the threshold. */
  threshold_name?: string;
}

/** A running self-check: sample until {@link ClientMonitor.finish}; disposing stops the timer. */
export interface ClientMonitor extends Disposable {
  /** Stops sampling and judges the point from the lag samples and the requests' send lag. */
  finish(records: readonly RequestRecord[]): SelfCheck;
}

/**
 * Starts sampling the event loop's lag on `clock`.
 *
 * @example
 * ```ts
 * using monitor = monitorClient(clock, { max_lag_p99_ms: 15 });
 * const rec = await probe(url, req, { clock, t_intended_ms: clock.now() });
 * const check = monitor.finish([rec]); // check.client_ok, check.reason
 * ```
 */
export function monitorClient(clock: Clock, opts: MonitorClientOptions): ClientMonitor {
  const interval_ms = opts.interval_ms ?? 10;
  const threshold = opts.max_lag_p99_ms;
  const { samples, stop } = sampleEventLoopLag(clock, interval_ms);
  return {
    [Symbol.dispose]: stop,
    finish(records) {
      stop();
      const event_loop_lag = lagStats(samples);
      const send_lag = lagStats(records.map((r) => r.t_send_ms - r.t_intended_ms));
      const verdict = lagVerdict(
        threshold,
        { "event-loop lag": event_loop_lag, "send lag": send_lag },
        `${opts.threshold_name ? ` (${opts.threshold_name})` : ""}; its TTFTs include the client's own ` +
          "delay. Rerun on a quieter machine.",
      );
      return {
        event_loop_lag,
        send_lag,
        // One request at a time, no cap: the client's delay in sending a due request is the send lag.
        dispatch_lag: send_lag,
        max_in_flight: records.length ? 1 : 0,
        threshold_p99_ms: threshold,
        ...verdict,
      };
    },
  };
}
