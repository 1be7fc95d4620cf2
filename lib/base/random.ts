/**
 * Seeded pseudo-random numbers for schedules and resampling: the same seed gives the same numbers on
 * every machine, so an open-loop schedule or a bootstrap interval can be reproduced from its seed.
 * @module
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * A seeded PRNG (mulberry32: 32-bit state, period 2^32; plenty for schedules and bootstraps).
 *
 * @example
 * ```ts
 * import { createRng } from "./random.ts";
 * const rng = createRng(42);
 * const u = rng(); // same value for seed 42 on every run
 * ```
 */
export function createRng(seed: number): Rng {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller). */
export function normalSample(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * A Gamma(shape, scale) sample (Marsaglia and Tsang 2000; shape < 1 by the u^(1/shape) boost).
 * Mean = shape x scale. Shape 1 is the exponential distribution.
 *
 * @example
 * ```ts
 * import { createRng, gammaSample } from "./random.ts";
 * const gap_s = gammaSample(createRng(0), 1, 1 / 10); // a Poisson gap at 10 req/s
 * ```
 */
export function gammaSample(rng: Rng, shape: number, scale: number): number {
  if (!(shape > 0) || !(scale > 0)) {
    throw new RangeError(
      `Cannot sample Gamma(shape=${shape}, scale=${scale}): both must be positive numbers.`,
    );
  }
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng();
    return gammaSample(rng, shape + 1, scale) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  while (true) {
    let x: number;
    let v: number;
    do {
      x = normalSample(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}
