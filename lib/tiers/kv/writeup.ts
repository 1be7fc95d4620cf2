/**
 * The KV tier's write-up, `kv_cache_scaling_notes.md`: environment, commands, key numbers, findings (from
 * findings.ts), charts, observations; and the tier's title. The engine label says SIMULATED on the
 * embedded engine.
 * @module
 */
import { join } from "node:path";
import type { EngineKind } from "../../engine/config.ts";
import { md } from "../../report/markdown.ts";
import { writeTextAtomic } from "../../run/atomic.ts";
import { failedPointsMd, withNote } from "../failed_points.ts";
import type { Run } from "../../run/run_dir.ts";
import type { LabEnv } from "../lab_env.ts";
import type { KvCapacityCase } from "./capacity.ts";
import {
  kvBytesFinding,
  kvCapacityFinding,
  kvFindings,
  kvFitFinding,
  kvLoadFinding,
  kvSweepFinding,
} from "./findings.ts";
import type { KvMeasurement } from "./measure.ts";
import type { KvParams } from "./params.ts";
import { shellLine } from "../../report/shell.ts";

/** The notes' file name in the run folder. */
export const KV_NOTES_FILE = "kv_cache_scaling_notes.md";

/**
 * The tier's title: "Tier 3a — KV cache scaling", with "(SIMULATED)" on the embedded engine.
 *
 * @example
 * ```ts
 * kvTitle("sim"); // "Tier 3a — KV cache scaling (SIMULATED)"
 * ```
 */
export function kvTitle(engine: EngineKind, simulated: boolean = engine === "sim"): string {
  return `Tier 3a — KV cache scaling${simulated || engine === "sim" ? " (SIMULATED)" : ""}`;
}

/** What the notes need. */
export interface KvNotesInput {
  lab: LabEnv;
  params: KvParams;
  measurement: KvMeasurement;
  capacity: readonly KvCapacityCase[];
}

/**
 * The `kv_cache_scaling_notes.md` text, every number from the run's rows.
 *
 * @example
 * ```ts
 * const text = kvNotesMarkdown({ lab, params: P, measurement: M, capacity: kvCapacityAnswers(M, P.question) });
 * ```
 */
export function kvNotesMarkdown(input: KvNotesInput): string {
  const { lab, params: P, measurement: M } = input;
  const f = kvFindings(M.rows, M.load_rows);
  const table = (cols: string[], rows: (string | number | undefined)[][]) =>
    [
      `| ${cols.join(" | ")} |`,
      `|${cols.map(() => "---").join("|")}|`,
      ...rows.map((r) =>
        `| ${r.map((c) => (c === undefined || c === null || c === "" ? "–" : md`${c}`.text)).join(" | ")} |`
      ),
    ].join("\n");
  const scaling = table(
    [
      "point",
      "max-model-len",
      "gpu-memory-utilization (fraction)",
      "started",
      "KV tokens",
      "blocks",
      "max concurrency",
      "KV GiB",
      "GPU mem GiB",
      "bytes/token computed (measured)",
      "fit error",
    ],
    M.rows.map((r) => [
      r.point_id,
      r.max_model_len,
      r.gpu_memory_utilization_used,
      String(r.started),
      r.kv_cache_tokens,
      r.num_gpu_blocks,
      r.max_concurrency,
      r.available_kv_gib,
      r.gpu_mem_used_gib,
      r.kv_bytes_per_token_computed === undefined && r.kv_bytes_per_token_measured === undefined
        ? undefined
        : `${r.kv_bytes_per_token_computed ?? "n/a"} (${r.kv_bytes_per_token_measured ?? "n/a"})`,
      r.fit_error_kind ? `${r.fit_error_kind} (est. ${r.fit_error_estimated_max_model_len ?? "n/a"})` : "",
    ]),
  );
  const load = table(
    [
      "concurrent",
      "predicted max",
      "running max",
      "waiting max",
      "preemptions",
      "KV usage max (fraction)",
      "TTFT max ms",
      "limited",
    ],
    M.load_rows.map((r) => [
      r.concurrent,
      r.predicted_max_concurrent,
      r.running_max,
      r.waiting_max,
      r.preemptions,
      r.kv_usage_max === undefined ? undefined : Number(r.kv_usage_max.toFixed(3)),
      r.ttft_max_ms === undefined ? undefined : Math.round(r.ttft_max_ms),
      String(r.limited),
    ]),
  );
  const env = [
    `- Engine: ${md`${M.engine_label}`.text}`,
    `- Model: ${md`${lab.model}`.text} (KV shape from ${
      md`${M.model_config_source ?? "no config found"}`.text
    })`,
    `- Device: ${md`${M.device_name ?? "not known"}`.text}${
      lab.engine === "sim" ? " (the embedded engine's GPU profile)" : ""
    }`,
    `- Run: ${md`${M.run_id}`.text}, size ${lab.size}, seed ${lab.seed}`,
    `- Parameters: max-model-len ${P.lens.join(", ")}; extra utilizations ${
      P.utils.join(", ") || "none"
    }; fit probe ${P.fail_util}; load ${P.load_len} tokens (${P.load_output_tokens} output), pool ${P.load_pool}; question ${P.question.concurrent}x${P.question.tokens_per_request}`,
  ].join("\n");
  const rerun = [
    "./servelab",
    "run",
    "--engine",
    lab.engine,
    "--size",
    lab.size,
    ...(lab.model ? ["--model", lab.model] : []),
  ];
  const commands = [
    "```",
    shellLine(rerun),
    "# or only this tier (its parameters: SERVELAB_KV_* variables before the command):",
    shellLine([...rerun, "--tiers", "kv"]),
    "```",
  ].join("\n");
  const allNotes = [
    ...M.notes,
    ...M.load_rows.filter((r) => r.client_ok === false).map((r) =>
      `Load step ${r.concurrent} failed the client self-check (${
        r.client_reason ?? "client lagged"
      }): its numbers are shown, not concluded from.`
    ),
  ];
  const notes = allNotes.length ? allNotes.map((n) => `- ${md`${n}`.text}`).join("\n") : "- none";
  return [
    `# ${kvTitle(lab.engine, lab.simulated)}: notes`,
    "",
    lab.engine === "sim"
      ? "**SIMULATED**: every number below comes from the embedded engine's model of vLLM, not from a GPU."
      : "",
    "",
    "## Environment",
    env,
    "",
    "## Commands",
    commands,
    "",
    "## Key numbers (kv_cache_scaling.csv)",
    scaling,
    "",
    "## Findings",
    `- Memory against max-model-len: ${kvSweepFinding(f).text}`,
    `- Bytes per KV token: ${kvBytesFinding(f, M.model_shape).text}`,
    `- Fit failures: ${kvFitFinding(f).text.replaceAll("\n\n", " ")}`,
    "",
    "## Confirmation under load (kv_load_confirmation.csv, kv_load_samples.csv)",
    M.load_rows.length ? load : "Not run.",
    "",
    kvLoadFinding(f, M.load_rows).text,
    "",
    "## Capacity question",
    kvCapacityFinding(input.capacity).text,
    "",
    "## Charts",
    "In `03_kv_scaling.html` of this run: max concurrency against max-model-len (log-log, with the 1/L line), " +
    "GPU memory and KV pool against max-model-len, and running/waiting requests over time at each step of the load.",
    "",
    "## Run notes",
    notes,
    "",
  ].join("\n");
}

/**
 * Writes `kv_cache_scaling_notes.md` into the run folder (atomically) and returns its path.
 *
 * @example
 * ```ts
 * const path = await writeKvNotes(run, { lab, params: P, measurement: M, capacity });
 * ```
 */
export async function writeKvNotes(run: Run, input: KvNotesInput): Promise<string> {
  const path = join(run.dir, KV_NOTES_FILE);
  await writeTextAtomic(path, withNote(kvNotesMarkdown(input), await failedPointsMd(run.dir, "kv")));
  return path;
}
