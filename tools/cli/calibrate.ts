/**
 * `./servelab calibrate RUN [--profile NAME] [--model ID_OR_DIR] [--model-label TEXT] [--keep]`: the
 * embedded engine's prediction beside every measured TTFT and batching number of a kept real-engine run
 * (`predicted_vs_measured.md` in the run's folder, lib/sim/beside.ts). With --keep, the run's batching points
 * join the profile's validation table (data/validation/kept_runs.json, held out of every fit) and
 * data/validation/gpu_results.json is re-evaluated, so the profile's stated error includes them.
 * Exit 0 done, 1 refused (nothing to replay, model or profile unknown), 2 bad arguments.
 * @module
 */
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { besideMarkdown, besideRun } from "../../lib/sim/beside.ts";
import { loadGpu, loadModel } from "../../lib/sim/catalog.ts";
import type { ValidationRow } from "../../lib/sim/validation.ts";
import { refreshResults } from "../sim_validate.ts";

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = "Usage: ./servelab calibrate RUN [--profile NAME] [--model ID_OR_DIR] [--model-label TEXT] " +
  "[--keep]   (RUN: a run id under reports/ or a folder)";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The run's batching points as validation rows (serve, medians, held out): one per concurrency point with
 * its median prompt and output lengths.
 */
export function keptRows(dir: string, runId: string, profile: string, model: string): ValidationRow[] {
  const read = (f: string) =>
    parse(Deno.readTextFileSync(`${dir}/${f}`), { columns: true }) as Record<string, string>[];
  const points = read("concurrency_sweep.csv");
  const reqs = read("batching_requests.csv");
  const rows: ValidationRow[] = [];
  for (const p of points) {
    const mine = reqs.filter((r) => r.point_id === p.point_id && r.ok === "true" && r.phase === "measure");
    const ttft = Number(p.ttft_p50_ms), tpot = Number(p.tpot_p50_ms), e2e = Number(p.e2e_p50_ms);
    if (mine.length === 0 || !(ttft > 0)) continue;
    rows.push({
      id: `run-${runId}-${p.point_id}`,
      source: `servelab run ${runId}`,
      source_note:
        `batching tier, concurrency_sweep.csv point ${p.point_id} (medians over its measured requests)`,
      vllm_version: "as the run's manifest states",
      gpu: profile,
      gpu_as_reported: profile,
      model,
      model_as_reported: model,
      benchmark: "serve",
      workload: {
        input_tokens: Math.round(median(mine.map((r) => Number(r.prompt_tokens)))),
        output_tokens: Math.max(1, Math.round(median(mine.map((r) => Number(r.completion_tokens))))),
        concurrency: Number(p.concurrency),
        num_prompts: mine.length,
      },
      measured: {
        ttft_ms: ttft,
        ...(tpot > 0 ? { itl_ms: tpot } : {}),
        ...(e2e > 0 ? { e2e_ms: e2e } : {}),
      },
      measured_stat: "median",
      split: "holdout",
    });
  }
  return rows;
}

/** Runs the verb. */
export function main(
  args: string[],
  io: Io = { out: (l) => console.log(l), err: (l) => console.error(l) },
  options: { root?: string; kept?: string } = {},
): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        profile: { type: "string" },
        model: { type: "string" },
        "model-label": { type: "string" },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    io.err(`servelab calibrate: ${(e as Error).message}\n\n${USAGE}`);
    return Promise.resolve(2);
  }
  if (values.help) {
    io.out(USAGE);
    return Promise.resolve(0);
  }
  if (positionals.length !== 1) {
    io.err(`servelab calibrate: expected one run, got '${args.join(" ")}'.\n\n${USAGE}`);
    return Promise.resolve(2);
  }
  const root = options.root ?? "reports";
  const run = positionals[0];
  const dir = (() => {
    try {
      return Deno.statSync(run).isDirectory ? run : `${root}/${run}`;
    } catch {
      return `${root}/${run}`;
    }
  })();
  try {
    const manifest = JSON.parse(Deno.readTextFileSync(`${dir}/manifest.json`));
    const gpuName: string | undefined = manifest.gpu?.name;
    const profile = loadGpu(
      values.profile ?? (!gpuName || manifest.gpu?.kind === "none" ? "cpu-calibrated" : gpuName),
    ).name;
    const model = loadModel(values.model ?? manifest.model).id;
    const rows = besideRun(dir, { profile, model });
    const engine = `${manifest.engine?.kind ?? "engine"} ${manifest.engine?.version ?? ""}`.trim();
    const runId = manifest.run_id ?? run;
    Deno.writeTextFileSync(
      `${dir}/predicted_vs_measured.md`,
      besideMarkdown(rows, { profile, model: values["model-label"] ?? model, run: runId, engine }),
    );
    io.out(`wrote ${dir}/predicted_vs_measured.md (${rows.length} measured numbers beside the prediction)`);
    if (values.keep) {
      const kept = options.kept ?? new URL("../../data/validation/kept_runs.json", import.meta.url).pathname;
      const mine = keptRows(dir, runId, profile, model);
      let doc: { description: string; rows: ValidationRow[] } = {
        description: "Rows kept from lab runs (./servelab calibrate RUN --keep); held out of every fit.",
        rows: [],
      };
      try {
        doc = JSON.parse(Deno.readTextFileSync(kept));
      } catch { /* first kept run */ }
      doc.rows = doc.rows.filter((r) => r.source !== `servelab run ${runId}`).concat(mine);
      Deno.writeTextFileSync(kept, JSON.stringify(doc, null, 2) + "\n");
      io.out(`kept ${mine.length} rows of run ${runId} for profile ${profile} in ${kept}`);
      if (!options.kept) io.out(`re-evaluated ${refreshResults().rows} validation rows (gpu_results.json)`);
    }
    return Promise.resolve(0);
  } catch (e) {
    io.err(`servelab calibrate: ${(e as Error).message}`);
    return Promise.resolve(1);
  }
}
