/**
 * Macrotask yields: resolve after every queued task (socket reads, timers that are due) has had its turn,
 * without a timer's whole-millisecond granularity. Used to sleep the last stretch to a scheduled time
 * precisely (the load generator's open-loop waker, the embedded engine's real-time clock).
 * @module
 */

/** A yielder: `next()` resolves on the next macrotask; `close()` frees its MessageChannel. */
export interface MacrotaskYielder {
  next(): Promise<void>;
  close(): void;
}

/**
 * A yielder over one lazily created MessageChannel (a message is a macrotask, unlike a resolved promise).
 *
 * @example
 * ```ts
 * const y = macrotaskYielder();
 * while (performance.now() < due) await y.next();
 * y.close();
 * ```
 */
export function macrotaskYielder(): MacrotaskYielder {
  let channel: MessageChannel | undefined;
  const waiters: (() => void)[] = [];
  return {
    next: () =>
      new Promise<void>((resolve) => {
        if (!channel) {
          channel = new MessageChannel();
          channel.port1.onmessage = () => waiters.shift()?.();
        }
        waiters.push(resolve);
        channel.port2.postMessage(0);
      }),
    close() {
      channel?.port1.close();
      channel?.port2.close();
      channel = undefined;
    },
  };
}
