/**
 * An abortable sleep: a timer that an AbortSignal cuts short, telling the caller which came first. The
 * load generator, the dial server, the scrape sampler and the TTFT tier's idle gaps share it.
 * @module
 */

/**
 * Resolves true after `ms` milliseconds, or false as soon as `signal` aborts (at once when it already
 * has). `ms <= 0` resolves true at once. `ms` goes to `setTimeout` as given: a caller that must not wake
 * early rounds it up itself.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const slept = await abortableSleep(50, ac.signal); // true, or false if ac.abort() came first
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (!(ms > 0)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
