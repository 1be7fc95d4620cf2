/**
 * The lab's one clock: `performance.now()` relative to a run origin.
 *
 * Every `t_*_ms` field of a `RequestRecord` is read from a `Clock`, so all timestamps of a run share
 * one monotonic time base. Wall-clock time appears once, as `origin_epoch_ms`, for manifests and for
 * lining records up with logs; it is derived from `performance.timeOrigin`, never from `Date.now()`,
 * and never mixed into `t_*` fields. See docs/adr/0003-clock.md.
 * @module
 */
/** A monotonic millisecond clock with a fixed origin (0 = when the run's clock was created). */
export interface Clock {
  /** Milliseconds since the origin (monotonic, sub-millisecond resolution). */
  now(): number;
  /** Wall-clock epoch milliseconds of the origin, for manifests only. */
  readonly origin_epoch_ms: number;
  /** `performance.now()` at the origin, to convert other in-process monotonic stamps. */
  readonly origin_perf_ms: number;
}

/**
 * Creates the run's clock. Create one per run and pass it to every probe of the run.
 *
 * @example
 * ```ts
 * import { createClock } from "./clock.ts";
 * const clock = createClock();
 * const t_ms = clock.now(); // ~0 right after creation
 * ```
 */
export function createClock(): Clock {
  const origin_perf_ms = performance.now();
  return {
    now: () => performance.now() - origin_perf_ms,
    origin_epoch_ms: performance.timeOrigin + origin_perf_ms,
    origin_perf_ms,
  };
}
