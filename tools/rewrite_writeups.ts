/**
 * Rewrites a finished run folder's write-ups from its CSVs alone (no engine, no measurement): the batching
 * tier's batching_summary.csv and batching_benchmark.md, the prefix tier's prefix_caching_results.md, the
 * KV tier's kv_cache_scaling_notes.md, then the day's files (facts.json, thresholds.json,
 * grafana-dashboard.json, day_writeup.md, new_node_checklist.md). For a kept example whose write-up code has
 * changed since it ran (docs/examples/vllm-cpu-tiny/). A file whose inputs are missing is left as it is and
 * said so.
 *
 * Usage: deno run -A tools/rewrite_writeups.ts RUN_DIR --engine vllm --size test [--model PATH]
 *   [--engine-args "ARGS" (as SERVELAB_ENGINE_ARGS was)] [--elapsed-s S] [--serve-args "ARGS"] (the last two
 *   only fill batching_benchmark.md's header)
 * @module
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tiers from "../lib/tiers/mod.ts";
import { readCsv, writeCsv } from "../lib/run/mod.ts";
import { buildWriteup, traceRunDir, writeWriteupFiles } from "../lib/writeup/mod.ts";

const exists = async (p: string) => {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
};

/** Rewrites the write-ups of `dir`; returns the files written. */
export async function rewriteWriteups(
  dir: string,
  o: {
    engine: string;
    size: string;
    model?: string;
    engine_args?: string;
    elapsed_s?: number;
    serve_args?: string[];
  },
): Promise<string[]> {
  const env: Record<string, string> = { SERVELAB_ENGINE: o.engine, SERVELAB_SIZE: o.size };
  if (o.model) env.SERVELAB_MODEL = o.model;
  if (o.engine_args) env.SERVELAB_ENGINE_ARGS = o.engine_args;
  const lab = tiers.labEnv(env);
  const manifest = JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
  const run_id = String(manifest.run_id ?? "");
  const version = String(manifest.engine?.version ?? "");
  const engine_label = `${o.engine === "vllm" ? "vLLM" : o.engine} ${version}, model ${
    o.model ?? manifest.model
  }`;
  const written: string[] = [];

  const F = tiers.BATCHING_FILES;
  if (await exists(join(dir, F.concurrency)) && await exists(join(dir, F.requests))) {
    const points = [
      ...await readCsv(join(dir, F.concurrency), tiers.BatchingPointRow),
      ...(await exists(join(dir, F.rate)) ? await readCsv(join(dir, F.rate), tiers.BatchingPointRow) : []),
    ];
    const requests = await readCsv(join(dir, F.requests), tiers.BatchingRequestRow);
    const P = tiers.batchingParams(o.size as "test" | "default", {});
    const findings = tiers.batchingFindings(points, requests, P);
    await writeCsv(
      join(dir, F.summary),
      tiers.batchingSummaryRows(findings),
      tiers.BATCHING_SUMMARY_COLUMNS,
    );
    const md = tiers.batchingBenchmarkMd({
      run_id,
      size: o.size,
      params: P,
      findings,
      measurement: {
        engine_label,
        engine_kind: o.engine as "vllm",
        serve_args: o.serve_args ?? [],
        peak_rps: findings.peak?.throughput_rps,
        rate_skipped: findings.rate.length ? undefined : "no valid concurrency point measured a throughput " +
          "to take the rates from",
        elapsed_s: o.elapsed_s ?? 0,
        config: { model: o.model ?? String(manifest.model ?? ""), url: undefined } as never,
      },
    });
    await Deno.writeTextFile(join(dir, F.benchmark), md);
    written.push(F.summary, F.benchmark);
  }

  const PF = tiers.PREFIX_FILES;
  if (await exists(join(dir, PF.requests)) && await exists(join(dir, PF.runs))) {
    const { requests, runs } = await tiers.readPrefixResults(dir);
    const f = tiers.prefixFindings(requests, runs);
    const present: string[] = [];
    for (const c of Object.values(tiers.PREFIX_CHART_FILES)) if (await exists(join(dir, c))) present.push(c);
    const md = tiers.prefixWriteup(f, {
      lab,
      params: tiers.prefixParams(lab, {}),
      runs,
      run_id,
      charts: present,
    });
    await Deno.writeTextFile(join(dir, PF.writeup), md);
    written.push(PF.writeup);
  }

  if (await exists(join(dir, tiers.KV_SCALING_FILE))) {
    const rows = await readCsv(join(dir, tiers.KV_SCALING_FILE), tiers.KvRow);
    const loadPath = join(dir, tiers.KV_LOAD_FILES.rows);
    const load_rows = await exists(loadPath) ? await readCsv(loadPath, tiers.KvLoadRow) : [];
    const ctx = await tiers.kvContext(lab);
    const P = tiers.kvParams(lab, {});
    const M = {
      run_id,
      engine_label,
      scaling_csv: join(dir, tiers.KV_SCALING_FILE),
      rows,
      load_rows,
      notes: [],
      planner: tiers.kvPlannerContext(ctx),
      model_config_source: ctx.model?.source,
      model_shape: ctx.model && {
        num_layers: ctx.model.spec.num_layers,
        num_kv_heads: ctx.model.spec.num_kv_heads,
        head_dim: ctx.model.spec.head_dim,
        kv_dtype_bytes: ctx.model.kv_dtype_bytes,
        tensor_parallel_size: ctx.model.tensor_parallel_size,
        max_position_embeddings: ctx.model.spec.max_position_embeddings,
      },
      device_name: ctx.device_name,
    };
    const md = tiers.kvNotesMarkdown({
      lab,
      params: P,
      measurement: M,
      capacity: tiers.kvCapacityAnswers(M, P.question),
    });
    await Deno.writeTextFile(join(dir, tiers.KV_NOTES_FILE), md);
    written.push(tiers.KV_NOTES_FILE);
  }

  const w = await buildWriteup(dir);
  for (const p of await writeWriteupFiles(w)) written.push(p.split("/").at(-1)!);
  return written;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      engine: { type: "string" },
      size: { type: "string", default: "test" },
      model: { type: "string" },
      "engine-args": { type: "string" },
      "elapsed-s": { type: "string" },
      "serve-args": { type: "string" },
    },
  });
  const dir = positionals[0];
  if (!dir || !values.engine) {
    console.error(
      "Usage: deno run -A tools/rewrite_writeups.ts RUN_DIR --engine vllm --size test [--model PATH]",
    );
    Deno.exit(2);
  }
  const out = await rewriteWriteups(dir, {
    engine: values.engine,
    size: values.size!,
    model: values.model,
    engine_args: values["engine-args"],
    elapsed_s: values["elapsed-s"] ? Number(values["elapsed-s"]) : undefined,
    serve_args: values["serve-args"]?.split(" ").filter(Boolean),
  });
  console.log(`Rewrote ${out.join(", ")} in ${dir}.`);
  const problems = await traceRunDir(dir);
  for (const p of problems) console.log(`trace: ${p.kind} ${p.file}: ${p.detail}`);
  console.log(
    problems.length ? `${problems.length} trace problems.` : "Provenance check: every number traces.",
  );
}
