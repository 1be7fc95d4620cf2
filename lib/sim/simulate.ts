/**
 * The embedded engine's virtual-time face: `simulate(config, workload)` runs a workload through the same
 * scheduler, memory plan and step-time model as the real-time server, on a virtual clock, and returns
 * per-request records and a time series. Deterministic: the same config, workload and seed give the same
 * result on every machine.
 *
 * Time as the server sees it: a request reaches the server when the client sends it (no network);
 * the engine sees it after the API server's own time (`frontendOverheadMs`); the first step with work
 * after ready pays `warmupPenaltyMs` (the cold first request), the first step after a long idle
 * `idlePenaltyMs`; tokens are stamped at the end of the step that produced them.
 *
 * @example
 * ```ts
 * import { parseServeConfig } from "../engine/config.ts";
 * import { simulate, syntheticRequests } from "./simulate.ts";
 * const cfg = parseServeConfig({ model: "Qwen/Qwen2.5-1.5B-Instruct", max_model_len: 4096 });
 * const r = simulate(cfg, {
 *   requests: syntheticRequests({ count: 100, prompt_tokens: 500, max_tokens: 128, seed: 1 }),
 *   load: { kind: "concurrency", n: 8 },
 * });
 * r.records[1].ttft_ms;
 * ```
 * @module
 */
import { z } from "zod";
import type { ServeConfig } from "../engine/config.ts";
import { type GpuSpec, loadGpu, loadModel } from "./catalog.ts";
import { type EngineSettings, planMemory, resolveEngineSettings } from "./memory.ts";
import { createScheduler, schedulerOptionsFor } from "./scheduler.ts";
import { frontendOverheadMs, idlePenaltyMs, makeStepTime, warmupPenaltyMs } from "./timing.ts";
import { mix32, syntheticTokenIds } from "./tokenizer.ts";
import type { FinishReason, MemoryPlan, SchedulerStats, SimRequest } from "./types.ts";

/** How requests are sent: closed loop (n in flight), open loop at a rate, or at given send times. */
export const SimLoad = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("concurrency"),
    n: z.number().int().positive(),
    /** Client think/network delay between a request's end and the next send on that slot (default 0). */
    think_ms: z.number().nonnegative().optional(),
    /**
     * The first `prime` requests go one at a time, each after the previous one ended; the closed loop of
     * `n` starts when the last of them ended (a prefix-cache benchmark's prime phase). Default 0.
     */
    prime: z.number().int().nonnegative().optional(),
  }).strict(),
  z.object({
    kind: z.literal("rate"),
    rps: z.number().positive(),
    /** 1 = Poisson gaps (default), "constant" = evenly spaced. */
    burstiness: z.union([z.literal(1), z.literal("constant")]).optional(),
  }).strict(),
  /** Each request's own `send_ms`. */
  z.object({ kind: z.literal("schedule") }).strict(),
]);
export type SimLoad = z.infer<typeof SimLoad>;

/** One request of a workload. */
export interface WorkloadRequest {
  /** Default `req-<index>`. */
  id?: string;
  prompt_ids: number[];
  max_tokens: number;
  min_tokens?: number;
  ignore_eos?: boolean;
  seed?: number;
  cache_salt?: string;
  /** Send time (ms from the start) for load kind "schedule". */
  send_ms?: number;
}

/** Requests, in send order, and how they are sent. */
export interface Workload {
  requests: WorkloadRequest[];
  load: SimLoad;
  /** Seed of the open-loop arrival gaps (default: the config's seed). */
  seed?: number;
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Start right after ready, so the first step pays the warm-up penalty (default true). */
  cold?: boolean;
  /** Keep every token's time in the records (default true). */
  keep_token_times?: boolean;
  /** Minimum virtual ms between two samples of the time series (default 0: every step). */
  sample_every_ms?: number;
  /**
   * A device profile used instead of the catalog's `cfg.sim.gpu` (calibration fits try timing blocks
   * without writing data/gpus/).
   */
  gpu?: GpuSpec;
}

/** One request's outcome, in virtual ms from the start. */
export interface SimRecord {
  request_id: string;
  index: number;
  /** When the client meant to send it (closed loop: when its slot freed, before think time). */
  intended_ms: number;
  /** When it reached the server (= sent: no network in virtual time). */
  arrival_ms: number;
  /** When the engine first scheduled it (queue_ms = first_scheduled_ms - arrival_ms). */
  first_scheduled_ms: number;
  first_token_ms: number;
  end_ms: number;
  /** first_token_ms - arrival_ms. */
  ttft_ms: number;
  /** end_ms - arrival_ms. */
  e2e_ms: number;
  /** first_scheduled_ms - arrival_ms (API-server time included). */
  queue_ms: number;
  /** (end_ms - first_token_ms) / (completion_tokens - 1); undefined for one token. */
  tpot_ms?: number;
  /** Largest gap between consecutive tokens; undefined for one token. */
  itl_max_ms?: number;
  /** Time of each token (empty when keep_token_times is false). */
  token_ms: number[];
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  preemptions: number;
  finish_reason: FinishReason;
}

/** The engine's state after a step. */
export interface SimSample {
  t_ms: number;
  running: number;
  waiting: number;
  kv_usage: number;
  /** Tokens computed in the step (prefill tokens + decodes). */
  batch_tokens: number;
  preemptions_total: number;
}

/** What {@link simulate} returns. */
export interface SimResult {
  records: SimRecord[];
  series: SimSample[];
  /** Scheduler counters at the end (what /metrics would show). */
  stats: SchedulerStats;
  plan: MemoryPlan;
  settings: EngineSettings;
  /** End of the last step. */
  duration_ms: number;
  steps: number;
}

/** A min-heap of (time, index) pairs. */
function createHeap() {
  const t: number[] = [];
  const ix: number[] = [];
  const less = (a: number, b: number) => t[a] < t[b] || (t[a] === t[b] && ix[a] < ix[b]);
  const swap = (a: number, b: number) => {
    [t[a], t[b]] = [t[b], t[a]];
    [ix[a], ix[b]] = [ix[b], ix[a]];
  };
  return {
    size: () => t.length,
    peekTime: () => t[0],
    push(time: number, index: number) {
      t.push(time);
      ix.push(index);
      for (let i = t.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        swap(i, p);
        i = p;
      }
    },
    pop(): number {
      const top = ix[0];
      const last = t.length - 1;
      swap(0, last);
      t.pop();
      ix.pop();
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < t.length && less(l, m)) m = l;
        if (r < t.length && less(r, m)) m = r;
        if (m === i) break;
        swap(i, m);
        i = m;
      }
      return top;
    },
  };
}

/** Open-loop send times: Poisson (seeded) or constant gaps at `rps`. */
function rateSchedule(count: number, rps: number, poisson: boolean, seed: number): number[] {
  const out: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    const u = (mix32(mix32(seed ^ 0x2545f491) ^ Math.imul(i + 1, 0x9e3779b1)) + 0.5) / 2 ** 32;
    t += poisson ? -Math.log(u) * 1000 / rps : 1000 / rps;
    out.push(t);
  }
  return out;
}

/**
 * Runs a workload on the simulated engine in virtual time.
 *
 * @example
 * ```ts
 * const r = simulate(cfg, { requests, load: { kind: "rate", rps: 20 } });
 * r.records.map((x) => x.ttft_ms);
 * ```
 */
export function simulate(cfg: ServeConfig, workload: Workload, opts: SimulateOptions = {}): SimResult {
  const load = SimLoad.parse(workload.load);
  const model = loadModel(cfg.model);
  const gpu = opts.gpu ?? loadGpu(cfg.sim.gpu);
  const settings = resolveEngineSettings(model, gpu, cfg);
  const plan = planMemory(model, gpu, cfg);
  if (plan.fit_error) {
    throw new Error(
      `Cannot simulate ${cfg.model} on ${gpu.name}: ${plan.fit_error.message ?? "the model does not fit"}`,
    );
  }
  const reqs = workload.requests;
  if (load.kind === "schedule") {
    const bad = reqs.findIndex((r) => !(Number.isFinite(r.send_ms) && r.send_ms! >= 0));
    if (bad >= 0) {
      throw new Error(
        `Cannot simulate load "schedule": request ${bad} has no send_ms; give every request one.`,
      );
    }
  }
  const base = makeStepTime(model, gpu, cfg);
  let extra_ms = 0;
  const sched = createScheduler(schedulerOptionsFor(cfg, plan, settings, (shape) => {
    const t = base(shape) + extra_ms;
    extra_ms = 0;
    return t;
  }));

  const keep = opts.keep_token_times ?? true;
  const every = opts.sample_every_ms ?? 0;
  const ids = reqs.map((r, i) => r.id ?? `req-${i}`);
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  if (indexOf.size !== ids.length) {
    throw new Error("Cannot simulate: request ids repeat; give each request its own id.");
  }
  const intended = new Array<number>(reqs.length);
  const sent = new Array<number>(reqs.length);
  const tokens: number[][] = reqs.map(() => []);
  const records: SimRecord[] = new Array(reqs.length);
  // Sends (a rate load schedules them all at the start), then admissions to the engine once the API server
  // is done with the request: its time depends on how many requests it is streaming when the request arrives.
  const arrivals = createHeap();
  const admissions = createHeap();
  let streaming = 0;
  const send = (i: number, at_ms: number, intended_ms = at_ms) => {
    intended[i] = intended_ms;
    sent[i] = at_ms;
    arrivals.push(at_ms, i);
  };
  const next_event = () =>
    Math.min(
      admissions.size() ? admissions.peekTime() : Infinity,
      arrivals.size() ? arrivals.peekTime() : Infinity,
    );

  let next = 0; // closed loop: next request to send
  const think = load.kind === "concurrency" ? load.think_ms ?? 0 : 0;
  const prime = load.kind === "concurrency" ? Math.min(load.prime ?? 0, reqs.length) : 0;
  if (load.kind === "concurrency") {
    for (; next < Math.min(prime > 0 ? 1 : load.n, reqs.length); next++) send(next, 0);
  } else if (load.kind === "rate") {
    const at = rateSchedule(reqs.length, load.rps, load.burstiness !== "constant", workload.seed ?? cfg.seed);
    at.forEach((t, i) => send(i, t));
  } else reqs.forEach((r, i) => send(i, r.send_ms!));

  let warm_ms = opts.cold === false ? 0 : warmupPenaltyMs(model, gpu, cfg);
  let idle_since: number | undefined;
  let now = 0;
  let steps = 0;
  let last_sample = -Infinity;
  const series: SimSample[] = [];
  for (;;) {
    while (arrivals.size() > 0 && arrivals.peekTime() <= now) {
      const t = arrivals.peekTime();
      const i = arrivals.pop();
      admissions.push(t + frontendOverheadMs(reqs[i].prompt_ids.length, gpu, streaming), i);
      streaming++;
    }
    while (admissions.size() > 0 && admissions.peekTime() <= now) {
      const t = admissions.peekTime();
      const i = admissions.pop();
      const r = reqs[i];
      const req: SimRequest = {
        id: ids[i],
        prompt_ids: r.prompt_ids,
        max_tokens: r.max_tokens,
        min_tokens: r.min_tokens,
        ignore_eos: r.ignore_eos,
        seed: r.seed,
        cache_salt: r.cache_salt,
        arrival_ms: t,
      };
      sched.add(req);
    }
    if (!sched.hasWork()) {
      if (admissions.size() === 0 && arrivals.size() === 0) break;
      now = Math.max(now, next_event());
      continue;
    }
    extra_ms = warm_ms > 0
      ? warm_ms
      : idle_since !== undefined
      ? idlePenaltyMs(gpu, (now - idle_since) / 1000)
      : 0;
    const out = sched.step(now);
    const worked = out.shape.prefill_tokens + out.shape.decode_seqs > 0;
    if (worked) {
      warm_ms = 0;
      idle_since = undefined;
    }
    extra_ms = 0;
    steps++;
    for (const tok of out.tokens) tokens[indexOf.get(tok.request_id)!].push(tok.t_ms);
    for (const f of out.finished) {
      const i = indexOf.get(f.request_id)!;
      streaming--;
      const ts = tokens[i];
      const n = ts.length;
      let itl_max: number | undefined;
      for (let k = 1; k < n; k++) itl_max = Math.max(itl_max ?? 0, ts[k] - ts[k - 1]);
      records[i] = {
        request_id: f.request_id,
        index: i,
        intended_ms: intended[i],
        arrival_ms: sent[i],
        first_scheduled_ms: f.first_scheduled_ms,
        first_token_ms: f.first_token_ms,
        end_ms: f.t_ms,
        ttft_ms: f.first_token_ms - sent[i],
        e2e_ms: f.t_ms - sent[i],
        queue_ms: f.first_scheduled_ms - sent[i],
        tpot_ms: n > 1 ? (f.t_ms - f.first_token_ms) / (n - 1) : undefined,
        itl_max_ms: itl_max,
        token_ms: keep ? ts : [],
        prompt_tokens: f.prompt_tokens,
        completion_tokens: f.completion_tokens,
        cached_tokens: f.cached_tokens,
        preemptions: f.preemptions,
        finish_reason: f.reason,
      };
      tokens[i] = [];
      if (load.kind === "concurrency" && next < reqs.length) {
        if (next < prime || i >= prime) send(next++, f.t_ms + think, f.t_ms);
        else if (i === prime - 1) {
          // The prime phase is over: the closed loop of n starts.
          for (const stop = Math.min(next + load.n, reqs.length); next < stop; next++) {
            send(next, f.t_ms + think, f.t_ms);
          }
        }
      }
    }
    now = out.start_ms + out.duration_ms;
    if (!worked && out.finished.length === 0) {
      // Nothing could be scheduled (should not happen: add() refuses requests that can never fit).
      throw new Error(
        `Simulation stalled at ${now.toFixed(3)} ms with work pending; this is a scheduler bug.`,
      );
    }
    if (now - last_sample >= every) {
      const st = sched.stats();
      series.push({
        t_ms: now,
        running: st.running,
        waiting: st.waiting,
        kv_usage: st.kv_usage,
        batch_tokens: out.shape.prefill_tokens + out.shape.decode_seqs,
        preemptions_total: st.preemptions_total,
      });
      last_sample = now;
    }
    if (!sched.hasWork()) idle_since = now;
  }
  return { records, series, stats: sched.stats(), plan, settings, duration_ms: now, steps };
}

/** Options of {@link syntheticRequests}. */
export interface SyntheticRequestsOptions {
  count: number;
  /** Prompt length in tokens, shared prefix included. */
  prompt_tokens: number;
  max_tokens: number;
  /** Tokens every prompt starts with (default 0: prompts share nothing). */
  shared_prefix_tokens?: number;
  /** Default true, as benchmarks do. */
  ignore_eos?: boolean;
  seed?: number;
}

/**
 * A workload's requests of synthetic pseudo-word prompts, deterministic in `seed`.
 *
 * @example
 * ```ts
 * syntheticRequests({ count: 500, prompt_tokens: 512, max_tokens: 128, seed: 3 }).length; // 500
 * ```
 */
export function syntheticRequests(o: SyntheticRequestsOptions): WorkloadRequest[] {
  const seed = o.seed ?? 0;
  const shared = Math.min(o.shared_prefix_tokens ?? 0, o.prompt_tokens);
  if (!(o.prompt_tokens >= 1)) {
    throw new Error(`Cannot build requests with prompt_tokens ${o.prompt_tokens}: use at least 1 token.`);
  }
  const prefix = syntheticTokenIds(shared, mix32(seed ^ 0x51ed));
  return Array.from({ length: o.count }, (_, i) => ({
    prompt_ids: prefix.concat(
      syntheticTokenIds(o.prompt_tokens - shared, mix32(seed) ^ Math.imul(i + 1, 0x9e3779b1)),
    ),
    max_tokens: o.max_tokens,
    ignore_eos: o.ignore_eos ?? true,
  }));
}
