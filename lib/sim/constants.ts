/**
 * Every constant of the embedded engine's model of memory and time, in one place, each with its source
 * or the reason for its value. docs/sim-model.md (sections "Memory" and "Timing") explains how they are
 * used. Values describe vLLM V1 as of v0.10-v0.20 (the lab mimics vLLM <= 0.20: gpu_memory_utilization
 * 0.9, CUDA-graph memory outside the KV budget).
 *
 * Magnitudes were chosen so that Qwen2.5-1.5B-Instruct on an H100 lands where vLLM does: a decode step of
 * a few ms, a warm TTFT for a short prompt near 10 ms, a 2,000-token prefill of tens of ms.
 * @module
 */

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** The vLLM version whose defaults these constants follow. */
export const MIMICKED_VLLM = "0.20";

/** Memory: how vLLM sizes the KV cache at startup (shared/reference/vllm.md §6). */
export const MEMORY = {
  /** `--gpu-memory-utilization` default: 0.9 up to v0.20 (0.92 since v0.21, PR #38284). */
  default_gpu_memory_utilization: 0.9,
  /** `--block-size` default on CUDA (CacheConfig.DEFAULT_BLOCK_SIZE). */
  default_block_size_gpu: 16,
  /** `--block-size` default on the CPU backend (platforms/cpu.py). */
  default_block_size_cpu: 128,
  /**
   * get_batch_defaults (engine/arg_utils.py, API server usage context): devices with >= 70 GiB that are
   * not A100 get 8192 batched tokens and 1024 sequences; others 2048 and 256; CPU 2048 and 128 per rank.
   */
  batch_defaults_large_gpu_min_bytes: 70 * GiB,
  batch_defaults_large_gpu: { max_num_batched_tokens: 8192, max_num_seqs: 1024 },
  batch_defaults_small_gpu: { max_num_batched_tokens: 2048, max_num_seqs: 256 },
  batch_defaults_cpu: { max_num_batched_tokens: 2048, max_num_seqs: 128 },
  /**
   * Memory outside PyTorch's allocator (CUDA context extras, cuBLAS workspaces, NCCL) seen by the
   * profiler: vLLM logs show `non_torch_memory takes 0.05-0.35GiB` at TP=1 on 1-8B models.
   */
  non_torch_bytes: 0.25 * GiB,
  /** Extra non-torch memory per GPU with tensor parallelism (NCCL and custom all-reduce buffers): #10511 logs
   * show non_torch rising from 1.79 to 3.58 GiB going from TP=1 to TP=2. */
  non_torch_tp_extra_bytes: 1.75 * GiB,
  /**
   * Activation peak of the profile run, per batched token, in units of dtype bytes: the residual stream in
   * and out (2 x hidden) plus the MLP's gate/up output and its activated product (3 x intermediate), the
   * largest live set of one layer. Calibration: Llama-3-8B at 8192 tokens gives 0.78 GiB from this term,
   * plus logits below = 1.27 GiB, against `PyTorch activation peak memory takes 1.19-1.24GiB` in vLLM logs.
   */
  activation_hidden_factor: 2,
  activation_intermediate_factor: 3,
  /** The dummy sampler run computes fp32 logits for max_num_seqs rows: max_num_seqs x vocab x 4 bytes. */
  logits_bytes_per_element: 4,
  /**
   * CUDA-graph memory per layer for the full set of capture sizes. vLLM logs `Graph capturing finished in
   * 5 secs, took 0.2-0.6 GiB` for 1-8B models; 12 MiB x 28 layers = 0.33 GiB for Qwen2.5-1.5B.
   */
  graph_bytes_per_layer: 12 * MiB,
  /**
   * Whether the CUDA-graph estimate is subtracted from the KV budget. Only since v0.21
   * (VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1); before, graphs used the headroom above the fraction.
   * The lab mimics <= v0.20, so false.
   */
  graph_memory_in_kv_budget: false,
  /**
   * CPU backend without `--kv-cache-memory-bytes` or VLLM_CPU_KVCACHE_SPACE: 50% of RAM for the KV cache
   * (the Dec 2025 - Apr 2026 behaviour, PR #29604, i.e. the CPU backend of the versions the lab mimics).
   */
  cpu_default_kv_fraction: 0.5,
} as const;

/**
 * Step time: a roofline (max of compute time and memory time) plus overheads.
 * `eff_*` are the fractions of datasheet peaks that real kernels reach.
 */
export const TIMING = {
  /**
   * Fraction of the BF16 peak that prefill matmuls and attention reach. FlashAttention-2 reports 50-73% of
   * peak for attention on A100; the GEMMs of a 1.5B model (hidden 1536) are small, so vLLM's prefill MFU
   * on small models is nearer 30-50%. 0.4 gives ~20 ms (with the step overhead) for a 2,000-token prefill of Qwen2.5-1.5B on H100.
   */
  eff_compute_gpu: 0.4,
  /**
   * Fraction of peak memory bandwidth that decode (GEMV-like reads of every weight) reaches: 70-85% of HBM
   * peak is typical for well-tuned decode kernels; 0.8 gives 1.15 ms to read Qwen2.5-1.5B's 3.1 GB on H100.
   */
  eff_memory_gpu: 0.8,
  /** CPU backend: oneDNN/AVX kernels reach about half of the vector peak in prefill. */
  eff_compute_cpu: 0.5,
  /** CPU backend: two cores rarely sustain more than ~60% of the streaming bandwidth in decode. */
  eff_memory_cpu: 0.6,
  /**
   * Fixed cost of one engine step outside the kernels on a GPU: scheduling, input preparation, the
   * engine-core/API-server round trip, sampling launch. vLLM V1 measures 1-3 ms for small models; 2 ms puts
   * a Qwen2.5-1.5B decode step at ~3.2 ms on H100 (~300 tokens/s for one stream), as vLLM reports.
   */
  step_overhead_ms_gpu: 2.0,
  /** The same on the CPU backend (no async scheduling, Python-heavy path): assumption, ~3x the GPU value. */
  step_overhead_ms_cpu: 6.0,
  /** Per running sequence per step: sampling bookkeeping, detokenization and output processing (~10-15 us). */
  per_seq_overhead_ms: 0.012,
  /**
   * Kernel-launch cost per layer per step when CUDA graphs are not replayed (--enforce-eager, or a batch
   * larger than the largest capture size): ~12 kernels x ~5 us. 28 layers -> +1.7 ms per step.
   */
  eager_launch_ms_per_layer: 0.06,
  /** Without torch.compile (enforce_eager) kernels are not fused: assumption, +10% on kernel time. */
  eager_kernel_factor: 1.1,
  /** Largest CUDA-graph capture size (vLLM's default cudagraph_capture_sizes end at 512). */
  max_cudagraph_capture_size: 512,
} as const;

/** Request-level costs outside the engine step (the API server). */
export const FRONTEND = {
  /**
   * HTTP handling, request validation, IPC to the engine core and the first detokenized SSE event:
   * assumption, ~6 ms, which with one step gives vLLM's ~10 ms warm TTFT for a short prompt on H100.
   */
  overhead_ms: 6.0,
  /** Tokenizing the prompt: HF fast tokenizers run at ~2M tokens/s on one core, 0.5 us per token. */
  tokenize_ms_per_token: 0.0005,
} as const;

/**
 * Warm-up: the first request after ready and after long idle periods. Assumptions, documented as such:
 * vLLM warms up during startup, yet the first request still pays lazy CUDA module loading for kernels the
 * warm-up did not touch, first sampler/detokenizer paths and allocator growth.
 */
export const WARMUP = {
  /** Extra time of the first engine step after ready, GPU with CUDA graphs (cold TTFT ~5-10x warm). */
  first_request_ms_gpu: 60,
  /** Extra under --enforce-eager: nothing was captured, so more kernels load lazily on first use. */
  first_request_eager_extra_ms: 120,
  /** CPU backend: oneDNN primitive creation on first use. */
  first_request_ms_cpu: 400,
  /** After this much idle time, the GPU has left its boost clocks (assumption). */
  idle_threshold_s: 30,
  /** Extra time of the first step after such an idle period (clock ramp): assumption, small. */
  idle_penalty_ms_gpu: 5,
} as const;

/** Startup phases, in seconds of simulated time (before the sim's --sim-startup-time-scale). */
export const STARTUP = {
  /** Python imports of torch and vLLM, API server and engine-core processes: 10-20 s on real nodes. */
  process_start_s_gpu: 12,
  /** The CPU backend imports the same packages but skips CUDA init. */
  process_start_s_cpu: 10,
  /** Opening the safetensors shards and building the module tree before bytes flow. */
  weights_load_fixed_s: 0.5,
  /**
   * torch.compile with a warm compile cache: vLLM logs `torch.compile takes 6.41 s in total` for
   * Llama-3.1-8B (32 layers) loading from the cache; a cold cache costs 2-4x. Base + per layer.
   */
  compile_base_s: 4.0,
  compile_per_layer_s: 0.08,
  /** CPU backend: inductor (DYNAMO_TRACE_ONCE) compiles C++ kernels; slow (reference/vllm.md §8). */
  compile_base_s_cpu: 20,
  compile_per_layer_s_cpu: 1.0,
  /** The profile run (a dummy forward of max_num_batched_tokens) and its bookkeeping. */
  memory_profile_s: 1.0,
  /** Allocating and zeroing the KV pool: fixed part; the rest at half the memory bandwidth. */
  kv_alloc_fixed_s: 0.3,
  /**
   * Graph capture per capture size per layer: 67 sizes x 28 layers x 2.5 ms = 4.7 s, as vLLM's
   * `Graph capturing finished in 5 secs` for small models.
   */
  graph_capture_s_per_size_per_layer: 0.0025,
  /** Tokenizer load, FastAPI/uvicorn start-up, route registration. */
  api_start_s: 1.5,
} as const;
