/**
 * The real-time face of the embedded engine: drives the V1-style scheduler step by step against a clock,
 * sleeping for each step's simulated duration, and hands every step's tokens to the requests' listeners
 * (the HTTP responses) as close as it can to their scheduled times.
 *
 * Clock: the server clock in ms, `performance.timeOrigin + performance.now()` for the real one, injectable
 * (`virtualClock()` runs the same code without waiting, for fast tests). Steps run back to back on the
 * simulated timeline (the next step starts when the previous one was scheduled to end, like a GPU that
 * never idles while it has work), so lateness of the driver delays delivery but not the simulated
 * timeline; only when it falls behind by more than `catch_up_ms` does it restart the timeline at the present.
 *
 * Ground truth per request, on the server clock: arrival, each token written (the first is TTFT's end),
 * end. "Written" is the moment the listener returned, i.e. the bytes were handed to the response stream.
 * @module
 */
import { macrotaskYielder } from "../base/macrotask.ts";
import type { FinishEvent, Scheduler, SchedulerStats, SimRequest, StepOutcome, TokenEvent } from "./types.ts";
import type { SimMetrics } from "./metrics.ts";

/** A clock the driver reads and sleeps on. */
export interface SimClock {
  /** Milliseconds on the server clock. */
  now(): number;
  /** Resolves at, or as soon as possible after, `t_ms` on this clock. */
  sleepUntil(t_ms: number): Promise<void>;
  /** Frees what the clock holds (timers, channels). */
  close?(): void;
}

/** Options of the real clock. */
export interface RealClockOptions {
  /** Wake the timer this many ms before the target, then yield/spin to it. Default 2 (see bench/sim_realtime.ts). */
  margin_ms?: number;
  /** Below this many ms to the target, busy-spin instead of yielding to the event loop. Default 0.05. */
  spin_ms?: number;
}

/**
 * The real server clock (`performance.timeOrigin + performance.now()`) with a precise sleep: a timer to
 * `margin_ms` before the target, then macrotask yields (other requests and socket writes keep running)
 * and a final short busy-spin.
 *
 * @example
 * ```ts
 * const clock = realClock();
 * await clock.sleepUntil(clock.now() + 5);
 * clock.close?.();
 * ```
 */
export function realClock(opts: RealClockOptions = {}): SimClock {
  const margin = opts.margin_ms ?? 2;
  const spin = opts.spin_ms ?? 0.05;
  const origin = performance.timeOrigin;
  const now = () => origin + performance.now();
  const yielder = macrotaskYielder();
  return {
    now,
    async sleepUntil(t_ms) {
      const early = t_ms - now() - margin;
      if (early > 0) await new Promise((r) => setTimeout(r, early));
      for (let left = t_ms - now(); left > 0; left = t_ms - now()) {
        if (left > spin) await yielder.next();
        else while (now() < t_ms) { /* spin the last few microseconds */ }
      }
    },
    close: yielder.close,
  };
}

/**
 * A clock that jumps to each wake-up time instead of waiting: the driver runs at full speed and every
 * timestamp is exactly the scheduled one. For tests.
 *
 * @example
 * ```ts
 * const clock = virtualClock(1_000);
 * await clock.sleepUntil(1_250);
 * clock.now(); // 1250
 * ```
 */
export function virtualClock(start_ms = 0): SimClock & { advance(ms: number): void } {
  let t = start_ms;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    async sleepUntil(t_ms) {
      t = Math.max(t, t_ms);
      // A macrotask, so that HTTP handlers and stream readers interleave as they would in real time.
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

/** What a request's listener gets once per step in which it produced output. */
export interface RequestOutput {
  /** The token produced this step, if any. */
  token?: TokenEvent;
  /** Set when the request finished this step (its last token, if any, is `token`). */
  finish?: FinishEvent;
}

/**
 * Receives a request's output as it is delivered. Return `false` to detach: the runtime then aborts the
 * request in the scheduler and delivers nothing more (used by the stall and drop faults).
 */
export type RequestListener = (out: RequestOutput) => boolean | void;

/** Server-side ground truth of one request, ms on the server clock. */
export interface GroundTruth {
  request_id: string;
  arrival_ms: number;
  first_token_ms?: number;
  /** When each token was written, in order. */
  token_ms: number[];
  /** When the last token (or the finish) was written; undefined while running or when detached. */
  end_ms?: number;
  /** When the simulated engine produced the first token (its step's scheduled end); write time minus this is lateness. */
  first_token_scheduled_ms?: number;
  /** Largest lateness of a token's write behind its scheduled time, ms (the server's own timing error). */
  max_lateness_ms?: number;
  finish_reason?: string;
}

/** Per-step delivery timing, for the real-time benchmark: how late tokens were written. */
export interface StepTiming {
  outcome: StepOutcome;
  /** Scheduled end of the step (tokens' scheduled time), ms. */
  scheduled_end_ms: number;
  /** Server clock when delivery of the step began, ms. */
  delivered_ms: number;
  /** Server clock when the step's last output was written, ms (the step's worst lateness is this - scheduled_end_ms). */
  finished_ms: number;
}

export interface SimRuntimeOptions {
  scheduler: Scheduler;
  clock?: SimClock;
  /** Extra ms added to the first step that does work after start (vLLM's first-request warm-up). */
  warmup_penalty_ms?: number;
  /** Extra ms of the first step after the engine sat idle this many seconds (0 when not applicable). */
  idle_penalty_ms?: (idle_s: number) => number;
  metrics?: SimMetrics;
  /**
   * How far behind the simulated timeline the driver may run before restarting it at the present.
   * Default 50 ms: small lateness only delays delivery, so step boundaries (and so batching, prefix hits
   * and TTFT) stay exactly those of `simulate()` for the same arrivals.
   */
  catch_up_ms?: number;
  /** Ground-truth records kept (oldest dropped first). Default 20,000 (token times included: ~40 MB at 256 tokens each). */
  max_ground_truth?: number;
  /** Called after each step's delivery. */
  onStep?: (t: StepTiming) => void;
}

interface Live {
  req: SimRequest;
  listener: RequestListener;
  gt: GroundTruth;
  max_tokens: number;
}

/**
 * The real-time driver. One per engine; dispose it to stop the loop (running requests are aborted).
 *
 * @example
 * ```ts
 * await using rt = new SimRuntime({ scheduler: createScheduler(opts) });
 * rt.submit({ id: "r1", prompt_ids: [1, 2, 3], max_tokens: 4 }, ({ token, finish }) => {});
 * ```
 */
export class SimRuntime implements AsyncDisposable {
  readonly clock: SimClock;
  #sched: Scheduler;
  #live = new Map<string, Live>();
  /** Submitted, not yet seen by the engine (in admission order). */
  #pending: SimRequest[] = [];
  #truth = new Map<string, GroundTruth>();
  #opts: SimRuntimeOptions;
  #penalty_ms: number;
  #wake?: () => void;
  #closed = false;
  #loop: Promise<void>;
  #last_end_ms?: number;
  #steps = 0;
  #busy_ms = 0;

  constructor(opts: SimRuntimeOptions) {
    this.#opts = opts;
    this.#sched = opts.scheduler;
    this.clock = opts.clock ?? realClock();
    this.#penalty_ms = opts.warmup_penalty_ms ?? 0;
    this.#loop = this.#run();
  }

  /** Steps run so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Milliseconds of the server clock the engine spent in steps that did work (the simulated GPU's busy
   * time: nvidia-smi's utilization.gpu is the busy share of a sample period). */
  get busyMs(): number {
    return this.#busy_ms;
  }

  /** Requests submitted and not yet finished, aborted or detached. */
  get inFlight(): number {
    return this.#live.size;
  }

  /**
   * Adds a request arriving now (server clock) and returns its arrival time. The engine sees it
   * `admit_delay_ms` later (the API server's own time: parsing, tokenizing, IPC); the listener is called
   * synchronously as its tokens are delivered.
   */
  submit(req: Omit<SimRequest, "arrival_ms">, listener: RequestListener, admit_delay_ms = 0): number {
    if (this.#closed) throw new Error(`Cannot submit request ${req.id}: the engine is shut down`);
    if (this.#live.has(req.id)) {
      throw new Error(`Cannot submit request ${req.id}: a request with this id is running`);
    }
    const arrival_ms = this.clock.now();
    const full: SimRequest = { ...req, arrival_ms: arrival_ms + Math.max(0, admit_delay_ms) };
    const gt: GroundTruth = { request_id: req.id, arrival_ms, token_ms: [] };
    this.#remember(gt);
    this.#live.set(req.id, { req: full, listener, gt, max_tokens: req.max_tokens });
    this.#pending.push(full);
    this.#pending.sort((a, b) => a.arrival_ms - b.arrival_ms);
    this.#wake?.();
    return arrival_ms;
  }

  /** True while a request with this id is submitted and not finished, aborted or detached. */
  isRunning(id: string): boolean {
    return this.#live.has(id);
  }

  /** Aborts a running request (client disconnect). Idempotent. */
  abort(id: string): void {
    const live = this.#live.get(id);
    if (!live) return;
    this.#live.delete(id);
    const p = this.#pending.findIndex((r) => r.id === id);
    if (p >= 0) this.#pending.splice(p, 1);
    else this.#sched.abort(id);
    live.gt.finish_reason = "abort";
    this.#opts.metrics?.finished({
      reason: "abort",
      arrival_ms: live.gt.arrival_ms,
      first_scheduled_ms: live.gt.arrival_ms,
      first_token_ms: live.gt.first_token_ms,
      end_ms: this.clock.now(),
      prompt_tokens: live.req.prompt_ids.length,
      completion_tokens: live.gt.token_ms.length,
      max_tokens: live.max_tokens,
    });
  }

  /** Ground truth of one request by id, if kept. */
  groundTruth(id: string): GroundTruth | undefined {
    return this.#truth.get(id);
  }

  /** Every kept ground-truth record, oldest first. */
  allGroundTruth(): GroundTruth[] {
    return [...this.#truth.values()];
  }

  stats(): SchedulerStats {
    return this.#sched.stats();
  }

  resetPrefixCache(): boolean {
    return this.#sched.resetPrefixCache();
  }

  /** Stops the loop; running requests are aborted. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#live.keys()]) this.abort(id);
    this.#wake?.();
    await this.#loop;
    this.clock.close?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #admitted_ms?: number;
  /** End of the last step before the engine went idle. */
  #idle_since_ms?: number;

  /** Hands the engine every pending request whose admission time has come. */
  #admit(t_ms: number) {
    while (this.#pending.length && this.#pending[0].arrival_ms <= t_ms) {
      const r = this.#pending.shift()!;
      this.#admitted_ms = r.arrival_ms;
      this.#sched.add(r);
    }
  }

  #remember(gt: GroundTruth) {
    this.#truth.delete(gt.request_id);
    this.#truth.set(gt.request_id, gt);
    const cap = this.#opts.max_ground_truth ?? 20_000;
    while (this.#truth.size > cap) this.#truth.delete(this.#truth.keys().next().value!);
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const now = this.clock.now();
      const catchUp = this.#opts.catch_up_ms ?? 50;
      let start = this.#last_end_ms !== undefined && now - this.#last_end_ms <= catchUp
        ? this.#last_end_ms
        : now;
      this.#admit(start);
      if (!this.#sched.hasWork()) {
        if (this.#last_end_ms !== undefined) this.#idle_since_ms = this.#last_end_ms;
        this.#last_end_ms = undefined;
        const next = this.#pending[0];
        if (next) await this.clock.sleepUntil(next.arrival_ms);
        else {
          await new Promise<void>((r) => (this.#wake = r));
          this.#wake = undefined;
        }
        continue;
      }
      if (this.#last_end_ms === undefined) {
        // Idle until now: the engine picks the request up when it arrived, not when the loop woke.
        start = Math.max(this.#admitted_ms ?? start, start - catchUp);
      }
      const out = this.#sched.step(start);
      this.#steps++;
      let end = start + out.duration_ms;
      const worked = out.shape.prefill_tokens + out.shape.decode_seqs > 0;
      let shift = 0;
      if (worked && this.#penalty_ms > 0) {
        shift = this.#penalty_ms;
        this.#penalty_ms = 0;
      } else if (worked && this.#idle_since_ms !== undefined && this.#opts.idle_penalty_ms) {
        shift = this.#opts.idle_penalty_ms((start - this.#idle_since_ms) / 1000);
      }
      if (worked) this.#idle_since_ms = undefined;
      end += shift;
      if (worked) this.#busy_ms += end - start;
      await this.clock.sleepUntil(end);
      if (this.#closed) break;
      this.#deliver(out, shift, end);
      this.#last_end_ms = end;
    }
  }

  /**
   * Hands each request its output of this step. The listeners (the HTTP writes) run first, each stamped
   * as it returns; ground truth, metrics and detaching follow once every output of the step is written,
   * so that bookkeeping does not delay the step's later streams.
   */
  #deliver(out: StepOutcome, shift_ms: number, end: number) {
    const delivered_ms = this.clock.now();
    let fin: Map<string, FinishEvent> | undefined;
    if (out.finished.length > 0) {
      fin = new Map();
      for (const f of out.finished) {
        fin.set(
          f.request_id,
          shift_ms ? { ...f, t_ms: f.t_ms + shift_ms, first_token_ms: f.first_token_ms + shift_ms } : f,
        );
      }
    }
    const done: Delivered[] = [];
    for (const tok of out.tokens) {
      const live = this.#live.get(tok.request_id);
      if (!live) continue;
      const finish = fin?.get(tok.request_id);
      if (finish) fin!.delete(tok.request_id);
      const token = shift_ms ? { ...tok, t_ms: tok.t_ms + shift_ms } : tok;
      const keep = live.listener(finish ? { token, finish } : { token });
      done.push({ live, token, finish, keep, t: this.clock.now() });
    }
    if (fin) {
      for (const finish of fin.values()) {
        const live = this.#live.get(finish.request_id);
        if (!live) continue;
        const keep = live.listener({ finish });
        done.push({ live, token: undefined, finish, keep, t: this.clock.now() });
      }
    }
    const finished_ms = this.clock.now();
    const m = this.#opts.metrics;
    m?.iteration(out.shape.prefill_tokens + out.shape.decode_seqs);
    for (const { live, token, finish, keep, t } of done) {
      const gt = live.gt;
      const id = live.req.id;
      if (token) {
        const late = t - token.t_ms;
        if (gt.max_lateness_ms === undefined || late > gt.max_lateness_ms) gt.max_lateness_ms = late;
        if (gt.first_token_ms === undefined) {
          gt.first_token_ms = t;
          gt.first_token_scheduled_ms = token.t_ms;
          m?.firstToken(live.req.prompt_ids.length, (t - gt.arrival_ms) / 1000);
        } else m?.token((t - gt.token_ms[gt.token_ms.length - 1]) / 1000);
        gt.token_ms.push(t);
      }
      if (keep === false && !finish) {
        if (this.#live.get(id) === live) {
          this.#live.delete(id);
          this.#sched.abort(id);
          gt.finish_reason = "detached";
        }
        continue;
      }
      if (finish) {
        if (this.#live.get(id) !== live) continue; // aborted after its write, in this step
        this.#live.delete(id);
        gt.end_ms = t;
        gt.finish_reason = finish.reason;
        m?.finished({
          reason: finish.reason,
          arrival_ms: gt.arrival_ms,
          first_scheduled_ms: finish.first_scheduled_ms,
          first_token_ms: gt.first_token_ms,
          end_ms: t,
          prompt_tokens: finish.prompt_tokens,
          completion_tokens: finish.completion_tokens,
          max_tokens: live.max_tokens,
        });
      }
    }
    this.#opts.onStep?.({ outcome: out, scheduled_end_ms: end, delivered_ms, finished_ms });
  }
}

/** One output handed to a listener in a step, for the bookkeeping after the step's writes. */
interface Delivered {
  live: Live;
  token: TokenEvent | undefined;
  finish: FinishEvent | undefined;
  keep: boolean | void;
  t: number;
}
