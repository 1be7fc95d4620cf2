/**
 * The KV tier's findings, as data (`kvFindings`) and as text computed from it for the notebook's findings
 * cells and the notes: the sweep (memory against max-model-len, the slope, steps), bytes per KV token, the
 * fit failures, the load confirmation and the capacity question.
 * @module
 */
import { type Markdown, md, rawMd } from "../../report/markdown.ts";
import {
  type KvBytesPerTokenCheck,
  kvBytesPerTokenCheck,
  kvConcurrencySlope,
  type KvLoadVerdict,
  kvLoadVerdict,
  type KvLogLogFit,
  kvMemoryTrend,
  type KvPlannerAgreement,
  kvPlannerAgreement,
  type KvPoolStep,
  kvPoolSteps,
  kvSweepRows,
  type KvTrend,
  type KvUtilTrend,
  kvUtilTrend,
} from "./analyze.ts";
import type { KvCapacityCase } from "./capacity.ts";
import type { KvMeasurement } from "./measure.ts";
import type { KvLoadRow, KvRow } from "./rows.ts";

/** Everything the tier concludes, computed from its rows. */
export interface KvFindings {
  sweep: KvRow[];
  slope?: KvLogLogFit;
  memory?: KvTrend;
  pool?: KvTrend;
  memory_source?: string;
  steps: KvPoolStep[];
  util?: KvUtilTrend;
  bytes: KvBytesPerTokenCheck[];
  fit_failures: KvRow[];
  /** An external server's configuration as observed (no engine was started). */
  observed: KvRow[];
  load?: KvLoadVerdict;
  planner: KvPlannerAgreement;
}

/**
 * The tier's findings from the scaling rows and the load rows.
 *
 * @example
 * ```ts
 * const f = kvFindings(M.rows, M.load_rows);
 * f.slope?.slope; f.memory?.flat; f.load?.agrees;
 * ```
 */
export function kvFindings(rows: readonly KvRow[], load_rows: readonly KvLoadRow[]): KvFindings {
  const mem = kvMemoryTrend(rows);
  return {
    sweep: kvSweepRows(rows),
    slope: kvConcurrencySlope(rows),
    memory: mem.memory,
    pool: mem.pool,
    memory_source: mem.memory_source,
    steps: kvPoolSteps(rows),
    util: kvUtilTrend(rows),
    bytes: rows.flatMap((r) => {
      const c = r.started ? kvBytesPerTokenCheck(r) : undefined;
      return c ? [c] : [];
    }),
    fit_failures: rows.filter((r) => !r.started),
    observed: rows.filter((r) => r.role === "observed"),
    load: kvLoadVerdict(load_rows),
    planner: kvPlannerAgreement(rows),
  };
}

/** Markdown pieces joined with spaces (nested md keeps each piece's escaping). */
const cat = (parts: readonly Markdown[]): Markdown => parts.reduce((acc, p) => md`${acc} ${p}`);

/** KV usage (a fraction) from which a waiting request is said to wait for blocks. */
const KV_FULL = 0.9;
const int = (x: number | undefined) => x === undefined ? "n/a" : Math.round(x).toLocaleString("en-US");
const fix = (x: number | undefined, d = 2) => x === undefined ? "n/a" : x.toFixed(d);
const GiB = 2 ** 30;

const MEM_SOURCE: Record<string, string> = {
  "nvidia-smi": "nvidia-smi, device memory used after ready minus before launch",
  engine_log: "the engine's log: weights + KV pool + CUDA graphs; activations are not reported",
};

/**
 * The sweep's finding: does memory used grow with max-model-len, or stay flat while max concurrency falls
 * as 1/L (the log-log slope), and the step changes with their causes.
 *
 * @example
 * ```ts
 * await show(kvSweepFinding(kvFindings(M.rows, M.load_rows)));
 * ```
 */
export function kvSweepFinding(f: KvFindings): Markdown {
  const o = f.observed[0];
  if (f.sweep.length === 0 && o) {
    const head =
      "No sweep on an external server: it needs one engine per max-model-len, and the lab cannot restart a server it did not start.";
    // Issue 20: 0 is what the row holds when /v1/models states no max_model_len (TGI, gateways): not a length.
    const len = o.max_model_len > 0
      ? md`${int(o.max_model_len)}`
      : md`not measured (the server's /v1/models states none)`;
    if (o.pool_tokens === undefined) {
      // Issue 20: no numbers to state; say what is not measured and why, never "n/a KV tokens".
      return md`${
        rawMd(head)
      } The server's KV pool is not measured (it exports no cache_config_info on /metrics); its max-model-len: ${len}.`;
    }
    return md`${rawMd(head)} As configured, the server holds ${int(o.pool_tokens)} KV tokens (${
      int(o.num_gpu_blocks)
    } blocks of ${o.block_size ?? "n/a"}, from ${
      o.capacity_source === "metrics" ? rawMd("/metrics cache_config_info") : rawMd("nothing: not exported")
    }), ${fix(o.max_concurrency)}x requests of its max-model-len ${len}.`;
  }
  if (f.sweep.length === 0) {
    return md`No sweep point started, so there is no finding on max-model-len (see the notes above).`;
  }
  const first = f.sweep[0], last = f.sweep.at(-1)!;
  const parts: Markdown[] = [];
  const pool = f.pool;
  if (pool) {
    parts.push(
      md`Across ${f.sweep.length} values of max-model-len from ${int(first.max_model_len)} to ${
        int(last.max_model_len)
      } tokens the KV pool ${pool.flat ? rawMd("stayed at") : rawMd("ranged over")} ${int(pool.min)}${
        pool.flat ? "" : ` to ${int(pool.max)}`
      } tokens (spread ${fix(pool.spread_pct)} %).`,
    );
  }
  const mem = f.memory;
  if (mem) {
    parts.push(
      md`GPU memory used ${mem.flat ? rawMd("stayed flat at") : rawMd("moved between")} ${fix(mem.min)}${
        mem.flat ? "" : ` and ${fix(mem.max)}`
      } GiB (spread ${fix(mem.spread_pct)} %, log-log slope ${fix(mem.slope, 3)}; from ${
        rawMd(MEM_SOURCE[f.memory_source ?? ""] ?? "n/a")
      }).`,
    );
  } else parts.push(md`GPU memory used was not measured (no GPU visible and no memory lines in the log).`);
  if (f.slope) {
    const near = Math.abs(f.slope.slope + 1) < 0.02;
    parts.push(
      md`Max concurrency fell from ${fix(first.max_concurrency)}x to ${
        fix(last.max_concurrency)
      }x: the log-log slope is ${fix(f.slope.slope, 4)} (r² ${
        fix(f.slope.r2, 4)
      }, ${f.slope.n} points; expected −1), so ${
        near
          ? rawMd(
            "**max concurrency falls as 1/L while memory stays put: max-model-len reserves concurrency, not VRAM**",
          )
          : rawMd("**max concurrency does not fall as 1/L here**: look at the pool column for what moved")
      }.`,
    );
  }
  if (f.steps.length === 0) {
    parts.push(md`No step change in the pool between neighbouring lengths (tolerance 0.5 %).`);
  } else {
    for (const s of f.steps) {
      parts.push(
        md`Step: from ${int(s.from_len)} to ${int(s.to_len)} the pool changed by ${fix(s.change_pct)} % (${
          int(s.from_tokens)
        } → ${int(s.to_tokens)} tokens): ${s.cause}.`,
      );
    }
  }
  if (f.util) {
    parts.push(
      md`The pool does step with gpu-memory-utilization: at max-model-len ${int(f.util.max_model_len)}, ${
        f.util.points.map((p) => `${p.util} → ${fix(p.available_kv_gib)} GiB`).join(", ")
      }; ${fix(f.util.slope_gib_per_util)} GiB of KV per unit of utilization against a device of ${
        fix(f.util.device_total_gib)
      } GiB: weights and activations are fixed, so each extra 0.1 adds 0.1 x the device's memory to the pool.`,
    );
  }
  return cat(parts);
}

/**
 * Bytes per KV token measured against computed from the model config, with the difference explained.
 *
 * @example
 * ```ts
 * await show(kvBytesFinding(f, M.model_shape));
 * ```
 */
export function kvBytesFinding(f: KvFindings, shape?: KvMeasurement["model_shape"]): Markdown {
  const b = f.bytes.find((x) => x.computed !== undefined) ?? f.bytes[0];
  if (!b) return md`Bytes per KV token were not measured (no started point stated available KV memory).`;
  const row = f.sweep.find((r) => r.point_id === b.point_id) ?? f.sweep[0];
  const formula = shape
    ? md`2 (K, V) x ${shape.num_layers} layers x ${
      shape.tensor_parallel_size > 1
        ? `${shape.num_kv_heads} / ${shape.tensor_parallel_size} (TP)`
        : shape.num_kv_heads
    } KV heads x ${shape.head_dim} head_dim x ${shape.kv_dtype_bytes} bytes`
    : md`the model config`;
  if (b.computed === undefined) {
    return md`Measured ${fix(b.measured, 1)} bytes per KV token; not computed (no model config.json found).`;
  }
  const all = f.bytes.filter((x) => x.explained !== undefined);
  const explained = all.filter((x) => x.explained).length;
  const range = all.map((x) => x.diff_pct!);
  return cat([
    md`Measured ${fix(b.measured, 1)} bytes per KV token (available ${fix(row?.available_kv_gib)} GiB / ${
      int(row?.pool_tokens)
    } pool tokens, point ${b.point_id}) against ${int(b.computed)} computed from ${formula}: ${
      fix(b.diff_pct, 4)
    } % apart (${fix(Math.min(...range), 4)} to ${fix(Math.max(...range), 4)} % over ${all.length} points).`,
    md`The difference is arithmetic, not overhead: the pool is floored to whole blocks of ${
      int(row?.block_size)
    } tokens (the leftover is under one block, ${
      int(b.block_bytes)
    } bytes) and the log prints available memory to 0.01 GiB (±${
      fix(0.005 * GiB / 2 ** 20, 1)
    } MiB); ${explained} of ${all.length} points are within that bound.`,
    md`Capacity is counted in blocks: block 0 is vLLM's reserved null block, so ${
      int(b.usable_tokens)
    } of the ${int(row?.pool_tokens)} tokens are usable by requests.`,
  ]);
}

/**
 * The fit failures, as recorded rows, and the planner's agreement.
 *
 * @example
 * ```ts
 * await show(kvFitFinding(f));
 * ```
 */
export function kvFitFinding(f: KvFindings): Markdown {
  const parts: string[] = [];
  if (f.fit_failures.length === 0 && f.observed.length > 0) {
    parts.push(md`No fit probe on an external server: it would need a restart with a smaller pool.`.text);
  } else if (f.fit_failures.length === 0) {
    parts.push(
      md`No point failed to start: no fit failure was observed (lower SERVELAB_KV_FAIL_UTIL to see one).`
        .text,
    );
  }
  for (const r of f.fit_failures) {
    const at = r.gpu_memory_utilization !== undefined
      ? `gpu-memory-utilization ${r.gpu_memory_utilization}`
      : r.kv_cache_memory_bytes !== undefined
      ? `kv_cache_memory_bytes ${int(r.kv_cache_memory_bytes)}`
      : "the default pool";
    const what = r.fit_error_kind === "kv_fit"
      ? md`vLLM's fit error: one request of ${int(r.max_model_len)} tokens needs ${
        fix(r.fit_error_needed_gib)
      } GiB of KV cache, only ${
        fix(r.fit_error_available_gib)
      } GiB is available; it estimates max-model-len ${int(r.fit_error_estimated_max_model_len)} would fit`
      : md`${r.fit_error_kind ?? "start_failed"}: ${r.fit_error_message ?? ""}`;
    parts.push(
      md`Point ${r.point_id} (max-model-len ${
        int(r.max_model_len)
      } at ${at}) did not start: ${what}. It is a row of the CSV (started = false, fit_error_* columns), not a crash.`
        .text,
    );
  }
  const p = f.planner;
  if (p.compared > 0) {
    parts.push(
      md`The planner (lib/sim planCapacity on the device's profile) agrees with ${p.agree} of ${p.compared} rows${
        p.mismatches.length
          ? `; differences: ${p.mismatches.map((m) => `${m.point_id}: ${m.what}`).join("; ")}`
          : ""
      }.`.text,
    );
  }
  return rawMd(parts.join("\n\n"));
}

/**
 * The load confirmation's finding: the onset of waiting or preemption against the predicted max concurrency.
 *
 * @example
 * ```ts
 * await show(kvLoadFinding(f, M.load_rows));
 * ```
 */
export function kvLoadFinding(f: KvFindings, rows: readonly KvLoadRow[]): Markdown {
  const v = f.load;
  if (!v || rows.length === 0) return md`The load confirmation did not run (see the notes above).`;
  const r0 = rows[0];
  const per = Math.ceil(r0.request_tokens / r0.block_size);
  const clean = rows.filter((r) => !r.limited);
  const limited = rows.filter((r) => r.limited);
  const kvMax = Math.max(...clean.map((r) => r.kv_usage_max ?? 0));
  const first = limited[0];
  const preempted = limited.filter((r) => (r.preemptions ?? 0) > 0);
  const bad = rows.filter((r) => r.client_ok === false);
  return cat([
    md`At ${int(r0.request_tokens)} tokens per request (${
      int(r0.prompt_tokens)
    } prompt + ${r0.max_tokens} output, ignore_eos) on a pool of ${
      int(r0.num_gpu_blocks)
    } blocks of ${r0.block_size} (${
      r0.kv_cache_memory_bytes !== undefined
        ? `kv_cache_memory_bytes ${int(r0.kv_cache_memory_bytes)}`
        : rawMd("the engine's default pool")
    }, prefix caching off), the predicted max concurrency is floor((${
      int(r0.num_gpu_blocks)
    } − 1) / ${per}) = ${v.predicted_max_concurrent}${
      v.planned_max_concurrent !== undefined ? ` (planner: ${v.planned_max_concurrent})` : ""
    }.`,
    md`${
      clean.length
        ? `Up to ${v.largest_clean} concurrent requests all ran at once with no preemption (KV usage peaked at ${
          fix(kvMax)
        }). `
        : ""
    }${
      first
        ? `At ${first.concurrent} they did not: running peaked at ${first.running_max ?? "n/a"}, waiting at ${
          first.waiting_max ?? "n/a"
        }, ${first.preemptions ?? 0} preemptions, and the slowest first token took ${
          fix(first.ttft_max_ms, 0)
        } ms against ${fix(first.ttft_p50_ms, 0)} ms at the median.`
        : "No step was limited: raise SERVELAB_KV_LOAD_MAX_CONCURRENCY."
    }`,
    md`${
      bad.length
        ? rawMd(
          `**Not judged:** ${bad.length} of ${rows.length} load steps (${
            bad.map((r) => r.concurrent).join(", ")
          }) failed the client self-check (${
            [...new Set(bad.map((r) => r.client_reason ?? "client lagged"))].join("; ")
          }), ` +
            "so the onset and the reason requests waited are not concluded from them; rerun on a less loaded client.",
        )
        : v.agrees
        ? rawMd(
          `**The onset is at predicted + 1 = ${v.predicted_max_concurrent + 1}, as the pool predicts.**`,
        )
        : rawMd(
          `**The onset (${v.onset ?? "none"}) does not match predicted + 1 = ${
            v.predicted_max_concurrent + 1
          }.**`,
        )
    }`,
    md`${
      bad.length ? "" : preempted.length === 0 && first && (first.kv_usage_max ?? 0) >= KV_FULL
        ? rawMd(
          "The extra requests waited rather than being preempted: the scheduler admits a request only when " +
            "blocks for its prompt (chunk) are free, and these prompts are most of each request; preemption needs " +
            "admitted requests that later outgrow the pool (long outputs).",
        )
        : preempted.length === 0 && first
        ? md`KV usage peaked at ${
          fix(first.kv_usage_max)
        } (a fraction of the pool) while requests waited, so the pool was not what held them back: another limit capped the running requests at ${
          first.running_max ?? "n/a"
        } (vLLM's --max-num-seqs, or the step's token budget --max-num-batched-tokens taking the prefills).`
        : preempted.length
        ? md`Preemptions appeared at ${
          preempted.map((r) => `${r.concurrent} (${r.preemptions})`).join(", ")
        }: ${
          rawMd(
            "with chunked prefill a waiting request can be admitted on a partial chunk into the few free blocks; " +
              "when a running request then needs a block that is not there, the scheduler preempts the latest " +
              "request and recomputes it later.",
          )
        }`
        : ""
    }`,
  ]);
}

/**
 * The capacity question's answers as text.
 *
 * @example
 * ```ts
 * await show(kvCapacityFinding(kvCapacityAnswers(M, P.question)));
 * ```
 */
export function kvCapacityFinding(cases: readonly KvCapacityCase[]): Markdown {
  const parts: string[] = [];
  for (const c of cases) {
    const a = c.answer;
    if (!a) {
      parts.push(md`On ${rawMd(c.label)}: not answered (${c.reason ?? "no pool"}).`.text);
      continue;
    }
    const m = a.measured;
    const q = a.question;
    const util = a.gpu_memory_utilization_needed !== undefined
      ? `gpu-memory-utilization needed: ${fix(a.gpu_memory_utilization_needed)} (non-KV memory measured at ${
        fix(a.pool.non_kv_gib)
      } GiB of ${fix(a.pool.device_total_gib)} GiB)`
      : "the utilization needed is not measurable on this pool (set by bytes, or no device total)";
    const planner = a.planner
      ? ` Planner (lib/sim fitsConcurrent from the model on the ${a.planner.plan.gpu} profile): ${
        a.planner.fits ? "fits" : "does not fit"
      }, largest safe max-model-len ${int(a.planner.largest_safe_max_model_len)}, utilization needed ${
        fix(a.planner.gpu_memory_utilization_needed)
      }: ${a.agrees_with_planner ? "agrees" : "differs"}.`
      : "";
    parts.push(
      md`On ${rawMd(c.label)} (${
        int(a.pool.num_gpu_blocks)
      } blocks of ${a.pool.block_size}): room for ${q.concurrent} concurrent ${
        int(q.tokens_per_request)
      }-token requests? ${rawMd(m.fits ? "**Yes.**" : "**No.**")} They need ${
        int(m.kv_tokens_needed)
      } KV tokens (${q.concurrent} x ${m.blocks_per_request} blocks); the pool has ${
        int(m.kv_tokens_usable)
      } usable (${
        m.headroom_tokens >= 0
          ? `headroom ${fix((m.headroom_fraction ?? 0) * 100, 1)} %`
          : `short by ${int(-m.headroom_tokens)} tokens`
      })${m.reasons.length ? `; ${m.reasons.join("; ")}` : ""}. It holds ${
        int(m.max_concurrent_at_length)
      } such request${
        m.max_concurrent_at_length === 1 ? "" : "s"
      } at once; the largest safe max-model-len for ${q.concurrent} at once is ${
        int(m.largest_safe_max_model_len)
      }; ${util}.${planner}`.text,
    );
  }
  return rawMd(parts.join("\n\n"));
}
