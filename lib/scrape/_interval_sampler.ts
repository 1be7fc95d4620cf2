/**
 * The loop behind MetricsSampler and GpuSampler (private): take a sample now, then every `interval_ms`,
 * never two at once; a tick that comes due while a sample is still being taken is skipped, not queued.
 * Scheduling runs on `performance.now()`; rows are stamped with the caller's clock.
 * @module
 */
import { abortableSleep } from "../base/sleep.ts";
import type { ScrapeClock } from "./scrape.ts";

/** Takes one tick's rows; `t_ms` is the clock time the tick started. */
export type TakeRows<T> = (t_ms: number, signal: AbortSignal) => Promise<T[]>;
/** Turns a failed tick into rows (a failure is data, not a throw). */
export type ErrorRows<T> = (t_ms: number, error: unknown) => T[];

export class IntervalLoop<T> {
  readonly #rows: T[] = [];
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  constructor(interval_ms: number, clock: ScrapeClock, take: TakeRows<T>, onError: ErrorRows<T>) {
    if (!(interval_ms > 0)) {
      throw new RangeError(`Cannot sample every ${interval_ms} ms: interval_ms must be a positive number.`);
    }
    this.#done = this.#run(interval_ms, clock, take, onError);
  }

  /** Rows so far (a copy). */
  get rows(): T[] {
    return [...this.#rows];
  }

  /** Stops the loop (an in-flight sample is aborted and dropped) and returns every row. Idempotent. */
  async stop(): Promise<T[]> {
    this.#stop.abort();
    await this.#done;
    return this.rows;
  }

  async #run(interval_ms: number, clock: ScrapeClock, take: TakeRows<T>, onError: ErrorRows<T>) {
    const signal = this.#stop.signal;
    const start = performance.now();
    for (let tick = 0; !signal.aborted;) {
      const t_ms = clock.now();
      let rows: T[];
      try {
        rows = await take(t_ms, signal);
      } catch (e) {
        rows = onError(t_ms, e);
      }
      if (signal.aborted) break;
      this.#rows.push(...rows);
      tick = Math.max(tick + 1, Math.ceil((performance.now() - start) / interval_ms));
      await abortableSleep(start + tick * interval_ms - performance.now(), signal);
    }
  }
}
