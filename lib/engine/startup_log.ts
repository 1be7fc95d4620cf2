/**
 * Parses a vLLM (or embedded-engine) startup log into a {@link StartupReport}.
 *
 * Matching is on the message text only (anywhere in the line), never on the `(Proc pid=N) INFO MM-DD
 * HH:MM:SS [file.py:LINE]` prefix, so moved line numbers, renamed files, process-name changes and
 * progress bars glued to the front of a line do not matter. Every format listed in
 * shared/reference/vllm.md §2 and §6 is accepted (v0.10 to v0.33): both KV-capacity forms (two lines,
 * and the one-line form of ~v0.27+), thousands separators, `Model loading took X GiB[ memory]`,
 * `torch.compile takes|took`, `init engine ... took X seconds|s[ (compilation: Y s)]`, the old
 * (`models's`) and new fit error, and the version and server-up lines of every era.
 *
 * llama.cpp's server (engine `llamacpp`, `-lv 4`) states some of the same facts in its own words; they fill
 * the same fields (fixture `lib/engine/testdata/llamacpp_xllamacpp_real.log`): `build_info` is the version,
 * `n_slots`/`n_ctx_slot` the max concurrency at max_model_len, the context's `n_ctx` the KV tokens, the KV
 * cache's size its GiB, the model buffers the weights, and the elapsed-time prefix of its lines the phases
 * (weights: `loading model` to the model buffer; init: from there to `model loaded`).
 *
 * A field the log does not state stays `undefined` (not measured); nothing is invented.
 * @module
 */
import type { FitError, StartupPhase, StartupReport } from "./types.ts";

const num = (s: string): number => Number(s.replaceAll(",", ""));

/** Line patterns, one per fact. Each is searched anywhere in the line. */
const RE = {
  engineVersion: /Initializing a V1 LLM engine \(v([^)\s]+)\)/,
  apiVersion: /vLLM API server version (\S+)/,
  serverVersion: /vLLM server version (\S+?),? serving model/,
  // The logo of early 2026: `▄▄ ▄█ █     █     █ ▀▄▀ █  version 0.23.0`.
  logoVersion: /█.*\bversion\s+(\d+\.\d+\S*)/,
  maxModelLen: /Using max model len (\d+)/,
  configMaxSeqLen: /with config: .*\bmax_seq_len=(\d+)/,
  blockSizeArg: /non-default args: .*'block_size': (\d+)/,
  loadingWeights: /Loading weights took ([\d.]+) seconds/,
  modelLoading: /Model loading took ([\d.]+) (?:GiB|GB)(?: memory)? and ([\d.]+) seconds/,
  oldWeightsGib: /Loading model weights took ([\d.]+) (?:GiB|GB)/,
  torchCompile: /torch\.compile (?:takes|took) ([\d.]+) s in total/,
  graphCapture: /Graph capturing finished in ([\d.]+) secs?, took (-?[\d.]+) GiB/,
  initEngine:
    /init engine \(profile, create kv cache, warmup model\) took ([\d.]+) (?:seconds|s)\b(?: \(compilation: ([\d.]+) s)?/,
  availableKv: /Available KV cache memory: (-?[\d.]+) GiB/,
  reservedKv: /reserved ([\d.]+) GiB memory for KV Cache as specified by kv_cache_memory_bytes/,
  cpuKvSet: /(?:Auto|Explicitly) set \(([\d.]+)\/[\d.]+\) GiB for KV cache on node/,
  cpuKvDefault: /VLLM_CPU_KVCACHE_SPACE not set\. Using ([\d.]+) GiB for KV cache/,
  cpuKvOldDefault: /VLLM_CPU_KVCACHE_SPACE \(GiB\) for CPU backend is not set, using (\d+) by default/,
  kvTokens: /(?:GPU|CPU) KV cache size: ([\d,]+) tokens/,
  concurrency: /Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x/,
  blocksApi: /num_gpu_blocks is: (\d+)/,
  blocksOld: /# (?:GPU|cuda|cpu) blocks: (\d+)/,
  serverUp: /Starting vLLM API server \d+ on |Starting vLLM server on /,
  fit:
    /To serve at least one request with the models?'s max seq len \((\d+)\), \(?([\d.]+) GiB KV cache is needed, which is larger than the available KV cache memory \(([\d.]+) GiB\)\.(?: Based on the available memory, the estimated maximum model length is (\d+)\.)?/,
  noKvMemory: /No available memory for the cache blocks/,
  sim: /servelab-sim: startup phases are simulated \(time scale ([\d.eE+-]+)\)/,
  traceback: /Traceback \(most recent call last\)/,
  // llama.cpp's server: lines start with its elapsed time, `M.SS.mmm.uuu L ` (L the level letter).
  llamaTime: /^(\d+)\.(\d\d)\.(\d\d\d)\.(\d\d\d) ([IWEDT]) /,
  llamaBuild: /\binit: build_info: (\S+)/,
  llamaXllamacpp: /llama-server \(xllamacpp (\S+)\): listening on /,
  llamaLoading: /load_model: loading model '/,
  llamaModelBuffer: /\bmodel buffer size = +([\d.]+) MiB/,
  llamaNCtx: /llama_context: n_ctx += (\d+)/,
  llamaKv: /llama_kv_cache: size = +([\d.]+) MiB/,
  llamaSlots: /load_model: initializing, n_slots = (\d+), n_ctx_slot = (\d+)/,
  llamaLoaded: /\binit: model loaded$/,
  llamaUp: /\binit: listening on http|llama-server \(xllamacpp \S+\): listening on /,
  errorLevel: /(?:^|[\s)])ERROR(?::|\s+\d\d-\d\d )/,
  exception: /^(?:\([^)]*\)\s*)?(?:[A-Za-z_][\w.]*)?(?:Error|Exception): \S/,
  engineFailed: /Engine core initialization failed/,
};

/** How many error-looking lines a report keeps (the last ones). */
const MAX_ERRORS = 50;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Incremental startup-log parser: feed lines as the engine prints them, read `report()` at any time.
 * Used by the launcher while it waits for `/health`, so the fit error is known when the child exits.
 *
 * @example
 * ```ts
 * const p = new StartupLogParser();
 * p.feed("INFO 08-19 14:58:40 [kv_cache_utils.py:849] GPU KV cache size: 922,496 tokens");
 * p.report().kv_cache_tokens; // 922496
 * ```
 */
export class StartupLogParser {
  #r: Mutable<StartupReport> = { server_up: false, simulated: false, phases: [], errors: [] };
  #compilationTotal?: number;
  #llama: { loading?: number; buffer?: number; build?: string } = {};

  /** Feeds one line (without its newline). Lines with several `\r`-separated segments are fine. */
  feed(line: string): void {
    const r = this.#r;
    let m: RegExpMatchArray | null;
    if (r.version === undefined) {
      m = line.match(RE.engineVersion) ?? line.match(RE.apiVersion) ?? line.match(RE.serverVersion) ??
        line.match(RE.logoVersion);
      if (m) r.version = m[1].replace(/^v/, "");
    }
    if ((m = line.match(RE.maxModelLen))) r.max_model_len = num(m[1]);
    else if (r.max_model_len === undefined && (m = line.match(RE.configMaxSeqLen))) {
      r.max_model_len = num(m[1]);
    }
    if ((m = line.match(RE.blockSizeArg))) r.block_size = num(m[1]);
    // Per-worker durations (tensor parallel prints one line per rank): the slowest rank is the wall time.
    if ((m = line.match(RE.loadingWeights))) r.weights_load_s = max(r.weights_load_s, num(m[1]));
    if ((m = line.match(RE.modelLoading))) {
      r.weights_gib = max(r.weights_gib, num(m[1]));
      r.model_load_s = max(r.model_load_s, num(m[2]));
    } else if ((m = line.match(RE.oldWeightsGib))) r.weights_gib = max(r.weights_gib, num(m[1]));
    if ((m = line.match(RE.torchCompile))) r.compile_s = max(r.compile_s, num(m[1]));
    if ((m = line.match(RE.graphCapture))) {
      r.graph_capture_s = max(r.graph_capture_s, num(m[1]));
      r.graph_gib = max(r.graph_gib, num(m[2]));
    }
    if ((m = line.match(RE.initEngine))) {
      r.init_engine_s = max(r.init_engine_s, num(m[1]));
      if (m[2] !== undefined) this.#compilationTotal = max(this.#compilationTotal, num(m[2]));
    }
    // Per-worker capacities: the smallest rank binds, as vLLM itself takes the minimum.
    m = line.match(RE.availableKv) ?? line.match(RE.reservedKv) ?? line.match(RE.cpuKvSet) ??
      line.match(RE.cpuKvDefault) ?? line.match(RE.cpuKvOldDefault);
    if (m) r.available_kv_gib = min(r.available_kv_gib, num(m[1]));
    if ((m = line.match(RE.kvTokens))) r.kv_cache_tokens = min(r.kv_cache_tokens, num(m[1]));
    if ((m = line.match(RE.concurrency))) {
      r.max_concurrency_len = num(m[1]);
      r.max_concurrency = min(r.max_concurrency, num(m[2]));
    }
    if (r.num_gpu_blocks === undefined && (m = line.match(RE.blocksApi) ?? line.match(RE.blocksOld))) {
      r.num_gpu_blocks = num(m[1]);
    }
    if (RE.serverUp.test(line)) r.server_up = true;
    this.#feedLlama(line);
    if (r.fit_error === undefined && (m = line.match(RE.fit))) r.fit_error = fitError(line, m);
    if (r.no_kv_memory === undefined && RE.noKvMemory.test(line)) {
      r.no_kv_memory = { message: line.slice(line.indexOf("No available memory")).trim() };
    }
    if ((m = line.match(RE.sim))) {
      r.simulated = true;
      r.startup_time_scale = num(m[1]);
    }
    if (looksLikeError(line)) {
      r.errors.push(line.trim());
      if (r.errors.length > MAX_ERRORS) r.errors.shift();
    }
  }

  /** llama.cpp's server lines (see the module doc). */
  #feedLlama(line: string): void {
    const r = this.#r;
    const L = this.#llama;
    const t = line.match(RE.llamaTime);
    const at = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) / 1e3 + Number(t[4]) / 1e6 : undefined;
    let m: RegExpMatchArray | null;
    if ((m = line.match(RE.llamaBuild))) {
      L.build = m[1];
      r.version ??= `llama.cpp ${m[1]}`;
    }
    if ((m = line.match(RE.llamaXllamacpp))) {
      r.version = `xllamacpp ${m[1]} (llama.cpp ${L.build ?? "build ?"})`;
    }
    if (RE.llamaLoading.test(line)) L.loading ??= at;
    if ((m = line.match(RE.llamaModelBuffer))) {
      r.weights_gib = round6((r.weights_gib ?? 0) + num(m[1]) / 1024);
      L.buffer = at;
      if (at !== undefined && L.loading !== undefined) r.model_load_s = round3(at - L.loading);
    }
    if ((m = line.match(RE.llamaNCtx))) r.kv_cache_tokens = num(m[1]);
    if ((m = line.match(RE.llamaKv))) r.available_kv_gib = round6(num(m[1]) / 1024);
    if ((m = line.match(RE.llamaSlots))) {
      r.max_concurrency = num(m[1]);
      r.max_concurrency_len = num(m[2]);
      r.max_model_len = num(m[2]);
    }
    if (RE.llamaLoaded.test(line) && at !== undefined && L.buffer !== undefined) {
      r.init_engine_s = round3(at - L.buffer);
    }
    if (RE.llamaUp.test(line)) r.server_up = true;
  }

  /** A snapshot of what the lines fed so far say, with phases derived (source "log"). */
  report(): StartupReport {
    const r = { ...this.#r, errors: [...this.#r.errors] };
    if (r.compile_s === undefined && this.#compilationTotal !== undefined) {
      r.compile_s = this.#compilationTotal;
    }
    r.phases = derivePhases(r);
    return r;
  }
}

/**
 * Parses a whole startup log. Lines starting with `# ` (fixture headers) are skipped.
 *
 * @example
 * ```ts
 * const r = parseStartupLog(await Deno.readTextFile("vllm.log"));
 * console.log(r.version, r.kv_cache_tokens, r.max_concurrency, r.fit_error?.estimated_max_model_len);
 * ```
 */
export function parseStartupLog(text: string): StartupReport {
  const p = new StartupLogParser();
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("# ")) continue;
    p.feed(line);
  }
  return p.report();
}

/**
 * The startup phases a report states, in startup order, from the log only:
 * - `weights_load`: `Model loading took` (weights plus model construction), else `Loading weights took`;
 * - `compile`: `torch.compile takes|took N s in total`, else the `(compilation: N s)` of init engine;
 * - `graph_capture`: `Graph capturing finished in N secs`;
 * - `profile_kv_warmup`: `init engine (profile, create kv cache, warmup model) took N` minus compile and
 *   graph capture, which vLLM runs inside that interval (clamped at 0: graph secs are rounded).
 * So `compile + graph_capture + profile_kv_warmup = init_engine_s` when all are stated.
 */
export function derivePhases(r: StartupReport): StartupPhase[] {
  const out: StartupPhase[] = [];
  const add = (name: string, seconds: number | undefined) => {
    if (seconds !== undefined && Number.isFinite(seconds)) out.push({ name, seconds, source: "log" });
  };
  add("weights_load", r.model_load_s ?? r.weights_load_s);
  add("compile", r.compile_s);
  add("graph_capture", r.graph_capture_s);
  if (r.init_engine_s !== undefined) {
    const inner = (r.compile_s ?? 0) + (r.graph_capture_s ?? 0);
    add("profile_kv_warmup", round3(Math.max(0, r.init_engine_s - inner)));
  }
  return out;
}

function fitError(line: string, m: RegExpMatchArray): FitError {
  const start = line.indexOf("To serve at least one request");
  return {
    max_model_len: num(m[1]),
    needed_gib: num(m[2]),
    available_gib: num(m[3]),
    ...(m[4] !== undefined ? { estimated_max_model_len: num(m[4]) } : {}),
    message: line.slice(start).trim(),
  };
}

function looksLikeError(line: string): boolean {
  return RE.traceback.test(line) || line.match(RE.llamaTime)?.[5] === "E" || RE.errorLevel.test(line) ||
    RE.exception.test(line.trim()) ||
    RE.engineFailed.test(line);
}

function max(a: number | undefined, b: number): number {
  return a === undefined ? b : Math.max(a, b);
}
function min(a: number | undefined, b: number): number {
  return a === undefined ? b : Math.min(a, b);
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
