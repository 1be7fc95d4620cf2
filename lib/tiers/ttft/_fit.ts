/**
 * Ordinary least squares on (x, y) points, private to the tier.
 * @module
 */

/** y = intercept + slope x, with the coefficient of determination. */
export interface LinearFit {
  intercept: number;
  slope: number;
  /** 1 - SS_res / SS_tot; undefined when all y are equal (SS_tot = 0). */
  r2?: number;
  n: number;
}

/**
 * Least-squares line through the points: slope = Σ(x - x̄)(y - ȳ) / Σ(x - x̄)², intercept = ȳ - slope x̄,
 * R² = 1 - Σ(y - ŷ)² / Σ(y - ȳ)². Undefined with fewer than two distinct x.
 *
 * @example
 * ```ts
 * linearFit([1, 2, 3], [3, 5, 7]); // { intercept: 1, slope: 2, r2: 1, n: 3 }
 * ```
 */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let res = 0;
  for (let i = 0; i < n; i++) res += (ys[i] - (intercept + slope * xs[i])) ** 2;
  return { intercept, slope, r2: syy > 0 ? 1 - res / syy : undefined, n };
}
