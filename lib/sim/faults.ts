/**
 * Fault injection for the embedded engine, from the `--sim-*` fault flags: tests of the lab itself use
 * it to check that a crashed engine, a stalled stream, a 500 or a dropped connection become rows with an
 * error, never a hang or a wrong number.
 *
 * Every random choice comes from one PRNG seeded with the engine seed, so a run with the same flags and
 * the same request order injects the same faults.
 * @module
 */
import { createRng } from "../base/random.ts";
import type { SimOptions } from "../engine/config.ts";

/** The fault flags (`ServeConfig.sim.faults`). */
export type FaultFlags = SimOptions["faults"];

/** What happens to one generation request. Fields that do not apply are undefined. */
export interface RequestFaults {
  /** Answer 500 instead of serving the request (`--sim-http-500-rate`). */
  http_500: boolean;
  /** Abort the connection after this many tokens were written (`--sim-drop-connection-rate`). */
  drop_after_tokens?: number;
  /** Stop writing after this many tokens but keep the connection open (`--sim-stall-after-tokens`). */
  stall_after_tokens?: number;
}

/** The per-engine fault state: a seeded PRNG and the request counter for the crash fault. */
export interface Faults {
  readonly flags: FaultFlags;
  /** Draws the faults of the next generation request (in arrival order). */
  forRequest(max_tokens: number): RequestFaults;
  /** Counts a finished generation request; true when the engine must now crash. */
  requestFinished(): boolean;
  /** Extra real milliseconds before the server starts listening (`--sim-slow-start-s`). */
  readonly slow_start_ms: number;
  /** True when no fault flag is set. */
  readonly none: boolean;
}

/** The exit code of a crashed engine: what a shell reports for a SIGKILLed process (128 + 9). */
export const CRASH_EXIT_CODE = 137;

/**
 * A small, fast, seedable PRNG (mulberry32): uniform numbers in [0, 1).
 *
 * @example
 * ```ts
 * const r = seededRandom(7);
 * r() === seededRandom(7)(); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  return createRng(seed);
}

/**
 * Builds the fault state for one engine.
 *
 * @example
 * ```ts
 * const f = createFaults({ http_500_rate: 0.5 }, 0);
 * f.forRequest(16).http_500; // true or false, the same for the same seed and order
 * ```
 */
export function createFaults(flags: FaultFlags, seed: number): Faults {
  const rand = seededRandom(seed + 0x5eed);
  let finished = 0;
  const none = flags.crash_after_requests === undefined && flags.stall_after_tokens === undefined &&
    !flags.http_500_rate && !flags.drop_connection_rate && !flags.slow_start_s;
  return {
    flags,
    none,
    slow_start_ms: (flags.slow_start_s ?? 0) * 1000,
    forRequest(max_tokens: number): RequestFaults {
      const out: RequestFaults = { http_500: false };
      if (flags.http_500_rate && rand() < flags.http_500_rate) {
        out.http_500 = true;
        return out;
      }
      if (flags.drop_connection_rate && rand() < flags.drop_connection_rate) {
        // Somewhere strictly inside the stream when there is room: after 1 .. max_tokens-1 tokens.
        const room = Math.max(1, max_tokens - 1);
        out.drop_after_tokens = Math.min(room, 1 + Math.floor(rand() * room));
      }
      if (flags.stall_after_tokens !== undefined) out.stall_after_tokens = flags.stall_after_tokens;
      return out;
    },
    requestFinished(): boolean {
      finished++;
      return flags.crash_after_requests !== undefined && finished >= flags.crash_after_requests;
    },
  };
}
