/**
 * Load generation: many probes against one server, closed loop (N concurrent workers) or open loop (a
 * seeded arrival schedule, optionally capped in concurrency), with warm-up requests marked, records
 * handed to the caller as they arrive, and a self-check of the client's own timing.
 *
 * Closed loop: each of n workers sends its next request as soon as its previous one ends; a request's
 * `t_intended_ms` is when its slot freed. Open loop: `t_intended_ms` is the schedule's time; when the
 * concurrency cap binds, the wait shows as `t_send_ms - t_intended_ms` (queue delay), never hidden.
 * @module
 */
import { macrotaskYielder } from "../base/macrotask.ts";
import { z } from "zod";
import { abortableSleep } from "../base/sleep.ts";
import { percentile } from "../base/stats.ts";
import { type Clock, createClock } from "./clock.ts";
import { arrivalSchedule } from "./schedule.ts";
import { Http1Pool } from "./http1.ts";
import { probe } from "./stream.ts";
import { allowRemoteFromEnv, checkLoadTarget } from "../base/target.ts";
import type { ProbeRequest, RequestRecord } from "./types.ts";

/** The shape of the load: closed loop with n in flight, or an open-loop arrival rate. */
export const LoadShape = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("concurrency"), n: z.number().int().positive() }).strict(),
  z.object({
    kind: z.literal("rate"),
    rps: z.number().positive(),
    /** Gamma shape of the gaps: 1 = Poisson (default), "constant" = evenly spaced. */
    burstiness: z.union([z.number().positive(), z.literal("constant")]).optional(),
    max_concurrency: z.number().int().positive().optional(),
  }).strict(),
]);
export type LoadShape = z.infer<typeof LoadShape>;

/** Where requests come from: request i is `source[i % length]`, or `source(i)`. */
export type RequestSource = readonly ProbeRequest[] | ((index: number) => ProbeRequest);

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Measured requests (after the warm-up). Default for an array source: its length minus `warmup`. */
  count?: number;
  /** Stop sending new requests this long after the start (warm-up included); in-flight ones finish. */
  duration_s?: number;
  /** The first `warmup` requests are marked phase "warmup" (kept, excluded from aggregates). Default 0. */
  warmup?: number;
  /** Seed of the open-loop schedule. Default 0. */
  seed?: number;
  /** Per-request timeout (see `probe`). */
  timeout_ms?: number;
  /** Extra headers for every request (Authorization). */
  headers?: Record<string, string>;
  /** Aborting stops new sends and aborts in-flight requests (their records say "aborted"). */
  signal?: AbortSignal;
  /** Called with each record as it arrives (awaited); a throw stops the run and is rethrown. */
  on_record?: (record: RequestRecord) => void | Promise<void>;
  /** The run's clock; default a new one (its origin is returned). */
  clock?: Clock;
  /** Request ids are `${prefix}-${index}`; default a random prefix. */
  request_id_prefix?: string;
  /** Client self-check threshold for event-loop and dispatch lag p99. Default 5 ms. */
  max_lag_p99_ms?: number;
  /** Event-loop lag sampling interval. Default 10 ms. */
  lag_interval_ms?: number;
  /** Allow a non-loopback `baseUrl` (see target.ts). Default: `SERVELAB_ALLOW_REMOTE=1`. */
  allow_remote?: boolean;
  /**
   * Open loop: wake this long before each scheduled send on a timer, then yield to the event loop until
   * it is due (timers alone fire 1-2 ms late). 0 = timer only. Default 1 ms (docs/adr/0013-client-fidelity.md).
   */
  schedule_margin_ms?: number;
  /**
   * How requests are sent: "socket" (default for `http://`): raw HTTP/1.1 on a keep-alive pool owned by
   * the run, with the send and each read stamped at the socket; "fetch": the runtime's fetch (always for
   * `https://`). Against a ground truth stamped at write(), socket added less TTFT error than fetch at
   * every level, median and p99 (docs/adr/0016-fidelity-truth-and-floors.md).
   */
  transport?: "socket" | "fetch";
  /** How each body is read (probe()'s `parse`): "scan" (default) or "parser" (every event JSON-parsed). */
  parse?: "scan" | "parser";
}

/** p50, p99 and max of a lag sample (ms); undefined stats when there was no sample. */
export interface LagStats {
  n: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
}

/** How far the client itself can be trusted for this run. */
export interface SelfCheck {
  /** How late a timer sampling the event loop fired: the client's reaction delay to any event. */
  event_loop_lag: LagStats;
  /** t_send - t_intended over all requests: client queueing, including waits on the concurrency cap. */
  send_lag: LagStats;
  /** t_send - max(t_intended, slot free): the client's own delay in sending a due request. */
  dispatch_lag: LagStats;
  /** Open loop: the scheduled rate, and sends / (last send - start) achieved. */
  target_rps?: number;
  achieved_rps?: number;
  /** Most requests the client had in flight at once. */
  max_in_flight: number;
  threshold_p99_ms: number;
  /** False when the client's lag exceeds the threshold: the point is invalid, not just slow. */
  client_ok: boolean;
  reason?: string;
}

/** What {@link runLoad} returns. */
export interface LoadResult {
  /** One record per sent request, in index order. */
  records: RequestRecord[];
  self_check: SelfCheck;
  /** Wall-clock epoch ms of the clock's origin (t = 0). */
  origin_epoch_ms: number;
  /** Run start and end on the run's clock. */
  start_ms: number;
  end_ms: number;
}

/**
 * Runs a load against a server and returns every record plus the client's self-check. Request failures
 * are records; only bad options, a throwing source or a throwing `on_record` reject.
 *
 * @example
 * ```ts
 * import { runLoad } from "./load.ts";
 * const req = { endpoint: "completions" as const, model: "m", prompt: "Hi", max_tokens: 32 };
 * const { records, self_check } = await runLoad("http://127.0.0.1:8000", () => req,
 *   { kind: "rate", rps: 4, burstiness: 1, max_concurrency: 16 }, { count: 40, warmup: 4, seed: 7 });
 * if (!self_check.client_ok) console.warn(self_check.reason);
 * ```
 */
export async function runLoad(
  baseUrl: string,
  source: RequestSource,
  shape: LoadShape,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const allow_remote = opts.allow_remote ?? allowRemoteFromEnv();
  checkLoadTarget(baseUrl, allow_remote);
  const parsed = LoadShape.safeParse(shape);
  if (!parsed.success) {
    throw new TypeError(
      `Cannot run load: shape ${JSON.stringify(shape)} is invalid: ${z.prettifyError(parsed.error)}`,
    );
  }
  const warmup = opts.warmup ?? 0;
  const count = opts.count ?? (Array.isArray(source) ? Math.max(0, source.length - warmup) : undefined);
  if (count === undefined && opts.duration_s === undefined) {
    throw new TypeError("Cannot run load from a function source without a limit: give count or duration_s.");
  }
  if (
    !Number.isInteger(warmup) || warmup < 0 ||
    (count !== undefined && !(Number.isInteger(count) && count >= 0))
  ) {
    throw new TypeError(`Cannot run load: warmup (${warmup}) and count (${count}) must be integers >= 0.`);
  }
  if (Array.isArray(source) && source.length === 0) {
    throw new TypeError("Cannot run load from an empty request array: give at least one request.");
  }
  const pick = Array.isArray(source)
    ? (i: number) => (source as readonly ProbeRequest[])[i % source.length]
    : source as (i: number) => ProbeRequest;
  const total = count === undefined ? Infinity : warmup + count;
  const clock = opts.clock ?? createClock();
  const prefix = opts.request_id_prefix ?? crypto.randomUUID().slice(0, 8);
  const threshold = opts.max_lag_p99_ms ?? 5;

  const target = new URL(baseUrl);
  const pool = (opts.transport ?? "socket") === "socket" && target.protocol === "http:"
    ? new Http1Pool(target.hostname, Number(target.port || 80))
    : undefined;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (opts.signal?.aborted) stop.abort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  const records: RequestRecord[] = [];
  const dispatchLags: number[] = [];
  let in_flight = 0;
  let max_in_flight = 0;
  let callbackError: unknown;

  /** Sends request i; resolves with the time its response ended (the slot freed). */
  const runOne = async (i: number, t_intended_ms: number, t_ready_ms: number): Promise<number> => {
    const req = pick(i);
    in_flight++;
    max_in_flight = Math.max(max_in_flight, in_flight);
    const rec = await probe(baseUrl, req, {
      clock,
      t_intended_ms,
      request_id: `${prefix}-${i}`,
      headers: opts.headers,
      timeout_ms: opts.timeout_ms,
      signal: stop.signal,
      allow_remote,
      pool,
      parse: opts.parse,
    });
    const t_free = clock.now();
    in_flight--;
    rec.index = i;
    rec.phase = i < warmup ? "warmup" : "measure";
    dispatchLags.push(rec.t_send_ms - t_ready_ms);
    records.push(rec);
    if (opts.on_record && callbackError === undefined) {
      try {
        await opts.on_record(rec);
      } catch (err) {
        callbackError ??= err;
        stop.abort();
      }
    }
    return t_free;
  };

  const lag = sampleEventLoopLag(clock, opts.lag_interval_ms ?? 10);
  const start_ms = clock.now();
  const deadline_ms = opts.duration_s === undefined ? Infinity : start_ms + opts.duration_s * 1000;
  let target_rps: number | undefined;
  let achieved_rps: number | undefined;
  try {
    const s = parsed.data;
    switch (s.kind) {
      case "concurrency": {
        let next = 0;
        const worker = async () => {
          let t_free = start_ms;
          while (!stop.signal.aborted && next < total && clock.now() < deadline_ms) {
            t_free = await runOne(next++, t_free, t_free);
          }
        };
        await Promise.all(Array.from({ length: s.n }, worker));
        break;
      }
      case "rate": {
        const offsets = arrivalSchedule(s, {
          count: count === undefined ? undefined : total,
          duration_s: opts.duration_s,
          seed: opts.seed,
        });
        const slots = s.max_concurrency === undefined ? undefined : semaphore(s.max_concurrency);
        const waker = preciseWaker(opts.schedule_margin_ms ?? 1);
        const tasks: Promise<unknown>[] = [];
        let last_send = start_ms;
        for (let i = 0; i < offsets.length && !stop.signal.aborted; i++) {
          const t_intended = start_ms + offsets[i];
          if (!await waker.sleepUntil(clock, t_intended, stop.signal)) break;
          let t_ready = t_intended;
          if (slots) {
            if (!await slots.acquire(stop.signal)) break;
            t_ready = Math.max(t_intended, clock.now());
          }
          last_send = clock.now();
          tasks.push(runOne(i, t_intended, t_ready).finally(() => slots?.release()));
        }
        waker.close();
        await Promise.all(tasks);
        target_rps = s.rps;
        if (tasks.length > 0 && last_send > start_ms) {
          achieved_rps = tasks.length / ((last_send - start_ms) / 1000);
        }
        break;
      }
      default: {
        const never: never = s;
        throw new TypeError(`Cannot run load: unknown shape ${JSON.stringify(never)}.`);
      }
    }
  } finally {
    pool?.close();
    lag.stop();
    opts.signal?.removeEventListener("abort", onAbort);
  }
  const end_ms = clock.now();
  if (callbackError !== undefined) {
    throw new Error(`Load run stopped: on_record threw: ${String(callbackError)}`, { cause: callbackError });
  }

  records.sort((a, b) => a.index! - b.index!);
  const event_loop_lag = lagStats(lag.samples);
  const dispatch_lag = lagStats(dispatchLags);
  // Closed loop: a burst of freed slots is sent one after another, so dispatch lag there is reported but
  // not judged; open loop: a schedule the client cannot keep is exactly what the check is for.
  const verdict = lagVerdict(
    threshold,
    {
      "event-loop lag": event_loop_lag,
      ...(parsed.data.kind === "rate" ? { "dispatch lag": dispatch_lag } : {}),
    },
    " (max_lag_p99_ms); lower the load per client or use a faster client machine.",
  );
  return {
    records,
    self_check: {
      event_loop_lag,
      send_lag: lagStats(records.map((r) => r.t_send_ms - r.t_intended_ms)),
      dispatch_lag,
      target_rps,
      achieved_rps,
      max_in_flight,
      threshold_p99_ms: threshold,
      ...verdict,
    },
    origin_epoch_ms: clock.origin_epoch_ms,
    start_ms,
    end_ms,
  };
}

/**
 * A self-check's verdict: each judged lag whose p99 is above `threshold` is a reason, named by its key,
 * in order; `tail` follows "exceed N ms" in the reason (the knob and the advice).
 */
export function lagVerdict(
  threshold: number,
  judged: Record<string, LagStats>,
  tail: string,
): { client_ok: boolean; reason?: string } {
  const reasons = Object.entries(judged).filter(([, s]) => (s.p99_ms ?? 0) > threshold)
    .map(([name, s]) => `${name} p99 ${s.p99_ms!.toFixed(1)} ms`);
  return reasons.length === 0 ? { client_ok: true, reason: undefined } : {
    client_ok: false,
    reason: `Client too slow for this point: ${reasons.join(" and ")} exceed ${threshold} ms${tail}`,
  };
}

/** p50, p99 and max of a lag sample (ms). */
export function lagStats(values: readonly number[]): LagStats {
  if (values.length === 0) return { n: 0 };
  return {
    n: values.length,
    p50_ms: percentile(values, 50),
    p99_ms: percentile(values, 99),
    max_ms: Math.max(...values),
  };
}

/** Samples how late a repeating timer fires: the event loop's lag, in ms. */
export function sampleEventLoopLag(clock: Clock, interval_ms: number): { samples: number[]; stop(): void } {
  const samples: number[] = [];
  let expected = clock.now() + interval_ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    const t = clock.now();
    samples.push(Math.max(0, t - expected));
    expected = t + interval_ms;
    timer = setTimeout(tick, interval_ms);
  };
  timer = setTimeout(tick, interval_ms);
  return { samples, stop: () => clearTimeout(timer) };
}

/** Sleeps until the clock reads `t_ms` (never earlier); false if the signal aborted first. */
async function sleepUntil(clock: Clock, t_ms: number, signal: AbortSignal): Promise<boolean> {
  // Timers take whole milliseconds and may truncate: round up, and sleep again if woken early.
  for (let delay = t_ms - clock.now(); delay > 0; delay = t_ms - clock.now()) {
    if (signal.aborted) return false;
    if (!(await abortableSleep(Math.ceil(delay), signal))) return false;
  }
  return !signal.aborted;
}

/**
 * Sleeps to a scheduled time precisely: a timer to `margin_ms` before it, then macrotask yields (socket
 * reads keep running between them) until it is due. Timers take whole milliseconds and fire late.
 */
function preciseWaker(margin_ms: number) {
  const yielder = macrotaskYielder();
  let last_ms: number | undefined;
  return {
    async sleepUntil(clock: Clock, t_ms: number, signal: AbortSignal): Promise<boolean> {
      // Yielding keeps the thread busy and delays socket reads: spend at most a quarter of the gap since
      // the previous send on it (at 1,600 req/s a fixed 1 ms margin raised the TTFT error p50 from ~3 ms
      // to ~250 ms; docs/adr/0013-client-fidelity.md).
      const margin = Math.min(margin_ms, last_ms === undefined ? margin_ms : (t_ms - last_ms) / 4);
      last_ms = t_ms;
      if (margin <= 0) return await sleepUntil(clock, t_ms, signal);
      if (t_ms - clock.now() > margin && !await sleepUntil(clock, t_ms - margin, signal)) return false;
      while (clock.now() < t_ms && !signal.aborted) await yielder.next();
      return !signal.aborted;
    },
    close: yielder.close,
  };
}

/** A counting semaphore whose waiters are served in order. */
function semaphore(size: number) {
  let free = size;
  const waiters: (() => void)[] = [];
  return {
    acquire(signal: AbortSignal): Promise<boolean> {
      if (signal.aborted) return Promise.resolve(false);
      if (free > 0) {
        free--;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const grant = () => {
          signal.removeEventListener("abort", onAbort);
          resolve(true);
        };
        const onAbort = () => {
          waiters.splice(waiters.indexOf(grant), 1);
          resolve(false);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiters.push(grant);
      });
    },
    release(): void {
      const next = waiters.shift();
      if (next) next();
      else free++;
    },
  };
}
