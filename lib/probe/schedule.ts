/**
 * Open-loop arrival schedules: intended send times precomputed from a seeded PRNG, as vLLM bench does.
 *
 * Gaps between arrivals are Gamma(shape = burstiness, scale = 1 / (rps x burstiness)) seconds, so the
 * mean gap is 1 / rps whatever the burstiness: burstiness 1 is a Poisson process, < 1 burstier, > 1
 * more regular, "constant" exactly 1 / rps. The schedule is cumulative against an absolute start, so a
 * late send does not push back the ones after it. With a request count, the schedule is rescaled so the
 * last arrival is at exactly count / rps (vLLM bench's normalization); with a duration, arrivals are
 * drawn until the duration is reached.
 * @module
 */
import { createRng, gammaSample } from "../base/random.ts";

/** The rate part of an open-loop load shape. */
export interface ArrivalProcess {
  /** Mean requests per second (> 0). */
  rps: number;
  /** Gamma shape of the gaps: 1 = Poisson (default); "constant" = evenly spaced. */
  burstiness?: number | "constant";
}

/** How long the schedule runs: a number of arrivals, or a duration (whichever ends first if both). */
export interface ScheduleLimit {
  count?: number;
  duration_s?: number;
  /** PRNG seed. Default 0. */
  seed?: number;
}

/** Arrivals of a duration-bounded schedule never exceed this many (a guard against a typo'd rate). */
export const MAX_SCHEDULED = 10_000_000;

/**
 * Intended send offsets in ms from the run's start, ascending. Deterministic for a seed.
 *
 * @example
 * ```ts
 * import { arrivalSchedule } from "./schedule.ts";
 * const offsets_ms = arrivalSchedule({ rps: 10 }, { count: 100, seed: 1 });
 * // offsets_ms.length === 100, offsets_ms[99] === 10_000
 * ```
 */
export function arrivalSchedule(process: ArrivalProcess, limit: ScheduleLimit): number[] {
  const { rps } = process;
  const burstiness = process.burstiness ?? 1;
  if (!(rps > 0 && Number.isFinite(rps))) {
    throw new RangeError(`Cannot schedule arrivals at rps=${rps}: use a finite rate above 0.`);
  }
  if (burstiness !== "constant" && !(burstiness > 0 && Number.isFinite(burstiness))) {
    throw new RangeError(
      `Cannot schedule arrivals with burstiness=${burstiness}: use a positive number (1 = Poisson) or "constant".`,
    );
  }
  const { count, duration_s } = limit;
  if (count === undefined && duration_s === undefined) {
    throw new RangeError("Cannot schedule arrivals without a limit: give count or duration_s.");
  }
  const duration_ms = duration_s === undefined ? Infinity : duration_s * 1000;
  const max = count ?? MAX_SCHEDULED;
  const mean_gap_ms = 1000 / rps;
  const rng = createRng(limit.seed ?? 0);
  const gap = burstiness === "constant"
    ? () => mean_gap_ms
    : () => gammaSample(rng, burstiness, 1 / (rps * burstiness)) * 1000;

  const offsets: number[] = [];
  let t = 0;
  while (offsets.length < max) {
    t += gap();
    if (count === undefined && t > duration_ms) break;
    offsets.push(t);
  }
  if (count !== undefined && offsets.length > 0) {
    const scale = count * mean_gap_ms / offsets[offsets.length - 1];
    for (let i = 0; i < offsets.length; i++) offsets[i] *= scale;
    if (duration_s !== undefined) {
      const within = offsets.findIndex((o) => o > duration_ms);
      if (within >= 0) offsets.length = within;
    }
  }
  return offsets;
}
