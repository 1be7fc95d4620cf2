/**
 * The V1-style scheduler of the embedded engine (vLLM's `v1/core/sched/scheduler.py`, simplified).
 *
 * Each step, under a token budget of max_num_batched_tokens:
 * 1. running requests first, in order: a decode schedules its one new token, a request still in
 *    prefill its next chunk; blocks are allocated as the sequence grows; when a block cannot be found,
 *    the last running request (the lowest priority under FCFS) is preempted by recompute: its blocks
 *    are freed (they stay cached) and it goes back to the front of the waiting queue;
 * 2. then, if nobody was preempted this step, waiting requests in order while the budget lasts and
 *    fewer than max_num_seqs run: on first scheduling the prefix cache is looked up (full blocks only,
 *    never the last token), the rest of the prompt is chunked under the budget.
 * Blocks are committed to the prefix cache when their tokens are scheduled. The step's shape goes to
 * `step_time`; a request whose scheduled tokens reach the end of its sequence samples one token at the
 * end of the step (so the first token comes with the step that finishes the prefill). A request
 * finishes on max_tokens ("length"), on EOS ("stop", unless ignore_eos or fewer than min_tokens), or
 * on abort. Work per step is O(running + newly scheduled).
 *
 * @example
 * ```ts
 * import { createScheduler } from "./scheduler.ts";
 * import { EOS_TOKEN_ID, VOCAB_SIZE } from "./tokenizer.ts";
 * const s = createScheduler({
 *   num_gpu_blocks: 1000, block_size: 16, max_num_seqs: 8, max_num_batched_tokens: 512, max_model_len: 2048,
 *   enable_prefix_caching: true, step_time: (sh) => 5 + sh.prefill_tokens * 0.01,
 *   eos_token_id: EOS_TOKEN_ID, vocab_size: VOCAB_SIZE, seed: 0,
 * });
 * s.add({ id: "a", prompt_ids: [1, 2, 3], max_tokens: 4, arrival_ms: 0 });
 * let now = 0;
 * while (s.hasWork()) { const o = s.step(now); now = o.start_ms + o.duration_ms; }
 * ```
 * @module
 */
import { createBlockPool, hashBlock, saltHash } from "./block_pool.ts";
import { EOS_TOKEN_ID, requestSeed, tokenFor, VOCAB_SIZE } from "./tokenizer.ts";
import type { ServeConfig } from "../engine/config.ts";
import type { EngineSettings } from "./memory.ts";
import type {
  FinishEvent,
  FinishReason,
  MemoryPlan,
  Scheduler,
  SchedulerOptions,
  SchedulerStats,
  SimRequest,
  StepOutcome,
  StepShape,
  StepTimeFn,
  TokenEvent,
} from "./types.ts";

interface Seq {
  req: SimRequest;
  /** Prompt then generated tokens. */
  tokens: number[];
  prompt_len: number;
  /** Tokens whose KV is computed (or scheduled in the current step). */
  num_computed: number;
  blocks: number[];
  /** Hashes of the full blocks of `tokens`, computed lazily. */
  hashes: number[];
  root_hash: number;
  /** Blocks of this sequence already committed to the prefix cache. */
  num_committed: number;
  output_len: number;
  request_seed: number;
  first_scheduled_ms?: number;
  first_token_ms?: number;
  cached_tokens: number;
  preemptions: number;
}

interface Deque<T> {
  readonly length: number;
  peek(): T | undefined;
  push(x: T): void;
  /** Puts x at the head (a preempted request goes first). */
  unshift(x: T): void;
  shift(): T | undefined;
  remove(x: T): boolean;
}

/** A FIFO with cheap push-front, for the waiting queue. */
function createDeque<T>(): Deque<T> {
  let items: T[] = [];
  let head = 0;
  return {
    get length() {
      return items.length - head;
    },
    peek: () => items[head],
    push: (x) => void items.push(x),
    unshift(x) {
      if (head > 0) items[--head] = x;
      else items.unshift(x);
    },
    shift() {
      if (head >= items.length) return undefined;
      const x = items[head++];
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return x;
    },
    remove(x) {
      const i = items.indexOf(x, head);
      if (i < 0) return false;
      items.splice(i, 1);
      return true;
    },
  };
}

function validateOptions(o: SchedulerOptions): void {
  for (
    const k of [
      "num_gpu_blocks",
      "block_size",
      "max_num_seqs",
      "max_num_batched_tokens",
      "max_model_len",
    ] as const
  ) {
    if (!Number.isInteger(o[k]) || o[k] < 1) {
      throw new Error(`Cannot create scheduler: ${k} is ${o[k]}; it must be a positive integer.`);
    }
  }
}

/**
 * The scheduler options of an engine: its memory plan and resolved settings, the config's prefix-caching
 * flag and seed, the tokenizer's EOS and vocabulary, and a step time. Both faces of the embedded engine
 * (the real-time server and `simulate()`) build their scheduler from this, so they cannot drift apart.
 *
 * @example
 * ```ts
 * createScheduler(schedulerOptionsFor(cfg, plan, settings, makeStepTime(model, gpu, cfg)));
 * ```
 */
export function schedulerOptionsFor(
  cfg: Pick<ServeConfig, "enable_prefix_caching" | "seed">,
  plan: Pick<MemoryPlan, "num_gpu_blocks" | "block_size" | "max_model_len">,
  settings: Pick<EngineSettings, "max_num_seqs" | "max_num_batched_tokens">,
  step_time: StepTimeFn,
): SchedulerOptions {
  return {
    num_gpu_blocks: plan.num_gpu_blocks,
    block_size: plan.block_size,
    max_num_seqs: settings.max_num_seqs,
    max_num_batched_tokens: settings.max_num_batched_tokens,
    max_model_len: plan.max_model_len,
    enable_prefix_caching: cfg.enable_prefix_caching,
    step_time,
    eos_token_id: EOS_TOKEN_ID,
    vocab_size: VOCAB_SIZE,
    seed: cfg.seed,
  };
}

/**
 * A V1-style scheduler over a paged KV block pool with automatic prefix caching.
 *
 * @example
 * ```ts
 * const s = createScheduler({ ...opts, step_time: () => 10 });
 * s.add({ id: "r1", prompt_ids: encode("Hello"), max_tokens: 16, arrival_ms: 0 });
 * const out = s.step(0); // out.tokens[0].t_ms === 10: the whole prompt fits the budget
 * ```
 */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  validateOptions(opts);
  const B = opts.block_size;
  const pool = createBlockPool({
    num_gpu_blocks: opts.num_gpu_blocks,
    block_size: B,
    enable_prefix_caching: opts.enable_prefix_caching,
  });
  const waiting = createDeque<Seq>();
  let running: Seq[] = [];
  const byId = new Map<string, Seq>();
  let pendingAborts: FinishEvent[] = [];
  let lastNow = 0;
  const counters = { preemptions: 0, prompt_tokens: 0, generation_tokens: 0, finished: 0 };

  const blocksFor = (tokens: number) => Math.ceil(tokens / B);

  const ensureHashes = (seq: Seq, n: number) => {
    const h = seq.hashes;
    while (h.length < n) {
      const i = h.length;
      h.push(hashBlock(i === 0 ? seq.root_hash : h[i - 1], seq.tokens, i * B, (i + 1) * B));
    }
  };

  /** Commits the full blocks among the first `upto` tokens to the prefix cache. */
  const commit = (seq: Seq, upto: number) => {
    if (!opts.enable_prefix_caching) return;
    const full = Math.floor(upto / B);
    if (full <= seq.num_committed) return;
    ensureHashes(seq, full);
    for (let i = seq.num_committed; i < full; i++) pool.cache(seq.blocks[i], seq.hashes[i]);
    seq.num_committed = full;
  };

  const release = (seq: Seq) => {
    pool.free(seq.blocks);
    seq.blocks = [];
    seq.num_committed = 0;
    seq.num_computed = 0;
  };

  const finishEvent = (seq: Seq, reason: FinishReason, t_ms: number): FinishEvent => ({
    request_id: seq.req.id,
    reason,
    t_ms,
    prompt_tokens: seq.prompt_len,
    completion_tokens: seq.output_len,
    cached_tokens: seq.cached_tokens,
    first_scheduled_ms: seq.first_scheduled_ms ?? t_ms,
    first_token_ms: seq.first_token_ms ?? t_ms,
    preemptions: seq.preemptions,
  });

  const add = (req: SimRequest) => {
    const n = req.prompt_ids.length;
    if (byId.has(req.id)) {
      throw new Error(`Cannot add request '${req.id}': a request with that id is in flight.`);
    }
    if (n === 0) {
      throw new Error(`Cannot add request '${req.id}': the prompt is empty; send at least one token.`);
    }
    if (!Number.isInteger(req.max_tokens) || req.max_tokens < 1) {
      throw new Error(
        `Cannot add request '${req.id}': max_tokens is ${req.max_tokens}; it must be at least 1.`,
      );
    }
    if (n + req.max_tokens > opts.max_model_len) {
      throw new Error(
        `This model's maximum context length is ${opts.max_model_len} tokens. However, you requested ` +
          `${n + req.max_tokens} tokens (${n} in the prompt, ${req.max_tokens} in the completion). ` +
          `Please reduce the length of the prompt or completion.`,
      );
    }
    if (blocksFor(n + req.max_tokens) > pool.usable_blocks) {
      throw new Error(
        `Cannot add request '${req.id}': ${n + req.max_tokens} tokens need ${
          blocksFor(n + req.max_tokens)
        } ` +
          `blocks but the pool has ${pool.usable_blocks}; lower max_tokens or give the engine more KV blocks.`,
      );
    }
    for (const id of req.prompt_ids) {
      if (!Number.isInteger(id) || id < 0 || id >= opts.vocab_size) {
        throw new Error(
          `Cannot add request '${req.id}': token id ${id} is outside [0, ${opts.vocab_size}); use ids from encode().`,
        );
      }
    }
    const seq: Seq = {
      req,
      tokens: req.prompt_ids.slice(),
      prompt_len: n,
      num_computed: 0,
      blocks: [],
      hashes: [],
      root_hash: saltHash(req.cache_salt),
      num_committed: 0,
      output_len: 0,
      request_seed: req.seed ?? requestSeed(req.id),
      cached_tokens: 0,
      preemptions: 0,
    };
    byId.set(req.id, seq);
    waiting.push(seq);
  };

  const abort = (id: string) => {
    const seq = byId.get(id);
    if (!seq) return;
    byId.delete(id);
    if (!waiting.remove(seq)) {
      running = running.filter((s) => s !== seq);
      release(seq);
    }
    pendingAborts.push(finishEvent(seq, "abort", lastNow));
    counters.finished++;
  };

  const step = (now_ms: number): StepOutcome => {
    lastNow = now_ms;
    let budget = opts.max_num_batched_tokens;
    const sched: Seq[] = [];
    const nums: number[] = [];
    const preempted: string[] = [];

    // 1. Running requests: decodes and continuing prefills, preempting from the tail when out of blocks.
    for (let i = 0; i < running.length && budget > 0; i++) {
      const seq = running[i];
      const num_new = Math.min(seq.tokens.length - seq.num_computed, budget);
      if (num_new <= 0) continue;
      const need = blocksFor(seq.num_computed + num_new) - seq.blocks.length;
      let self_preempted = false;
      while (need > 0 && pool.numFree() < need) {
        const victim = running.pop()!;
        release(victim);
        victim.preemptions++;
        counters.preemptions++;
        preempted.push(victim.req.id);
        waiting.unshift(victim);
        if (victim === seq) {
          self_preempted = true;
          break;
        }
      }
      if (self_preempted) break;
      if (need > 0) { for (const b of pool.allocate(need)!) seq.blocks.push(b); }
      commit(seq, seq.num_computed + num_new);
      sched.push(seq);
      nums.push(num_new);
      budget -= num_new;
    }

    // 2. Waiting requests, only when nobody was preempted this step.
    if (preempted.length === 0) {
      while (budget > 0 && running.length < opts.max_num_seqs && waiting.length > 0) {
        const seq = waiting.peek()!;
        const first = seq.first_scheduled_ms === undefined;
        let hits: number[] = [];
        if (opts.enable_prefix_caching) {
          ensureHashes(seq, Math.floor((seq.tokens.length - 1) / B));
          hits = pool.findCachedPrefix(seq.hashes, seq.tokens.length, first);
        }
        const computed = hits.length * B;
        const num_new = Math.min(seq.tokens.length - computed, budget);
        const need = blocksFor(computed + num_new) - hits.length;
        if (pool.numFree() - pool.countUnreferenced(hits) < need) break;
        pool.touch(hits);
        seq.blocks = need > 0 ? hits.concat(pool.allocate(need)!) : hits;
        seq.num_computed = computed;
        seq.num_committed = hits.length;
        if (first) {
          seq.first_scheduled_ms = now_ms;
          seq.cached_tokens = computed;
        }
        commit(seq, computed + num_new);
        waiting.shift();
        running.push(seq);
        sched.push(seq);
        nums.push(num_new);
        budget -= num_new;
      }
    }

    const finished = pendingAborts;
    pendingAborts = [];
    const shape: StepShape = { prefill_tokens: 0, prefill_seqs: 0, decode_seqs: 0, context_tokens: 0 };
    if (sched.length === 0) {
      return { start_ms: now_ms, duration_ms: 0, shape, tokens: [], finished, preempted };
    }

    for (let k = 0; k < sched.length; k++) {
      const seq = sched[k];
      const n = nums[k];
      const decoding = n === 1 && seq.output_len > 0 && seq.num_computed === seq.tokens.length - 1;
      if (decoding) shape.decode_seqs++;
      else {
        shape.prefill_seqs++;
        shape.prefill_tokens += n;
      }
      shape.context_tokens += seq.num_computed + n;
    }
    const duration_ms = opts.step_time(shape);
    const t_ms = now_ms + duration_ms;

    const tokens: TokenEvent[] = [];
    let anyFinished = false;
    for (let k = 0; k < sched.length; k++) {
      const seq = sched[k];
      seq.num_computed += nums[k];
      if (seq.num_computed < seq.tokens.length) continue; // a prefill chunk: no token yet
      const index = seq.output_len;
      const r = seq.req;
      const allow_eos = !r.ignore_eos && index >= (r.min_tokens ?? 0);
      const token_id = tokenFor(opts.seed, seq.request_seed, index, { allow_eos });
      seq.tokens.push(token_id);
      seq.output_len++;
      counters.generation_tokens++;
      if (seq.first_token_ms === undefined) {
        seq.first_token_ms = t_ms;
        counters.prompt_tokens += seq.prompt_len;
      }
      tokens.push({ request_id: r.id, token_id, index, t_ms });
      const reason: FinishReason | undefined = seq.output_len >= r.max_tokens
        ? "length"
        : token_id === opts.eos_token_id && allow_eos
        ? "stop"
        : undefined;
      if (reason) {
        release(seq);
        byId.delete(r.id);
        finished.push(finishEvent(seq, reason, t_ms));
        counters.finished++;
        seq.num_computed = -1; // marks it for removal from running
        anyFinished = true;
      }
    }
    if (anyFinished) running = running.filter((s) => s.num_computed >= 0);
    return { start_ms: now_ms, duration_ms, shape, tokens, finished, preempted };
  };

  const stats = (): SchedulerStats => {
    const c = pool.counters();
    return {
      running: running.length,
      waiting: waiting.length,
      kv_usage: pool.usage(),
      num_gpu_blocks: opts.num_gpu_blocks,
      block_size: B,
      prefix_queries_tokens: c.queries_tokens,
      prefix_hits_tokens: c.hits_tokens,
      preemptions_total: counters.preemptions,
      prompt_tokens_total: counters.prompt_tokens,
      generation_tokens_total: counters.generation_tokens,
      requests_finished_total: counters.finished,
    };
  };

  return {
    add,
    abort,
    hasWork: () => running.length > 0 || waiting.length > 0 || pendingAborts.length > 0,
    step,
    stats,
    resetPrefixCache: () => pool.reset(),
  };
}
