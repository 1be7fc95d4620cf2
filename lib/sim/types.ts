/**
 * Contracts between the parts of the embedded engine: the model of memory and time (catalog, memory,
 * timing), the scheduler (tokenizer, block pool, prefix cache, V1-style scheduling) and its two faces
 * (the real-time HTTP server and the virtual-time `simulate()`).
 * @module
 */

/** A step's shape: what the roofline needs to price one engine step. */
export interface StepShape {
  /** New prompt tokens computed this step (after prefix-cache hits; chunked). */
  prefill_tokens: number;
  /** Sequences with a prefill chunk this step. */
  prefill_seqs: number;
  /** Sequences decoding one token this step. */
  decode_seqs: number;
  /** KV tokens read by attention this step, summed over sequences (context lengths). */
  context_tokens: number;
}

/** Milliseconds one engine step of this shape takes on the simulated model and GPU. */
export type StepTimeFn = (shape: StepShape) => number;

/** KV memory as vLLM sizes it at startup (see shared/reference/vllm.md §6). */
export interface MemoryPlan {
  total_bytes: number;
  /** total x gpu_memory_utilization (or kv_cache_memory_bytes + non-KV when that flag is set). */
  requested_bytes: number;
  weights_bytes: number;
  activation_bytes: number;
  /** CUDA-graph memory estimate (0 under enforce_eager); outside the KV budget in vLLM <= 0.20. */
  graph_bytes: number;
  available_kv_bytes: number;
  kv_bytes_per_token: number;
  block_size: number;
  num_gpu_blocks: number;
  /** num_gpu_blocks x block_size. */
  kv_cache_tokens: number;
  max_model_len: number;
  /** num_gpu_blocks / ceil(max_model_len / block_size). */
  max_concurrency: number;
  /** Set when one max_model_len request does not fit: the engine must refuse to start. */
  fit_error?: {
    needed_bytes: number;
    available_bytes: number;
    estimated_max_model_len: number;
    /** vLLM's own error text for this case (the engine logs it and exits). */
    message?: string;
  };
}

/** One request as the scheduler sees it. */
export interface SimRequest {
  id: string;
  prompt_ids: number[];
  max_tokens: number;
  min_tokens?: number;
  ignore_eos?: boolean;
  /** Scheduler clock (ms) at arrival. */
  arrival_ms: number;
  /** Per-request seed for the generated tokens (defaults to the engine seed and the request id). */
  seed?: number;
  /** Mixed into the first block's hash (vLLM's `cache_salt`): a unique salt guarantees a prefix-cache miss. */
  cache_salt?: string;
}

/** A token produced at the end of a step. */
export interface TokenEvent {
  request_id: string;
  token_id: number;
  /** 0-based index in the output. */
  index: number;
  /** Scheduler clock (ms) at the end of the step that produced it. */
  t_ms: number;
}

export type FinishReason = "length" | "stop" | "abort";

/** A request that finished in a step, with its server-side accounting. */
export interface FinishEvent {
  request_id: string;
  reason: FinishReason;
  t_ms: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens served from the prefix cache (a multiple of block_size; never the last prompt token). */
  cached_tokens: number;
  /** Scheduler clock when the request was first scheduled (queue time = this - arrival). */
  first_scheduled_ms: number;
  first_token_ms: number;
  preemptions: number;
}

export interface StepOutcome {
  start_ms: number;
  duration_ms: number;
  shape: StepShape;
  tokens: TokenEvent[];
  finished: FinishEvent[];
  /** Requests preempted (recompute) during this step's scheduling. */
  preempted: string[];
}

/** Counters and gauges the /metrics endpoint and tests read. Counters only grow. */
export interface SchedulerStats {
  running: number;
  waiting: number;
  /** Used blocks / usable blocks, 0..1 (vllm:kv_cache_usage_perc). */
  kv_usage: number;
  num_gpu_blocks: number;
  block_size: number;
  /** Prompt tokens looked up in the prefix cache (vllm:prefix_cache_queries_total). */
  prefix_queries_tokens: number;
  /** Of those, tokens found (vllm:prefix_cache_hits_total). */
  prefix_hits_tokens: number;
  preemptions_total: number;
  prompt_tokens_total: number;
  generation_tokens_total: number;
  requests_finished_total: number;
}

export interface SchedulerOptions {
  num_gpu_blocks: number;
  block_size: number;
  max_num_seqs: number;
  max_num_batched_tokens: number;
  max_model_len: number;
  enable_prefix_caching: boolean;
  step_time: StepTimeFn;
  /** Token id that ends generation unless ignore_eos or min_tokens says otherwise. */
  eos_token_id: number;
  vocab_size: number;
  seed: number;
}

/** V1-style scheduler over a paged KV block pool. One instance per engine; single-threaded. */
export interface Scheduler {
  add(req: SimRequest): void;
  abort(id: string): void;
  hasWork(): boolean;
  /** Plans and "runs" one step starting at now_ms; tokens and finishes are stamped start + duration. */
  step(now_ms: number): StepOutcome;
  stats(): SchedulerStats;
  /** Drops every cached block not in use (vLLM's /reset_prefix_cache); false if blocks are in use. */
  resetPrefixCache(): boolean;
}
