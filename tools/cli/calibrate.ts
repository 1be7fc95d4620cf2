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
import { besideMarkdown, loadGpu, loadModel, type ValidationRow } from "../../lib/sim/mod.ts";
import { besideRun, keptRunRows } from "../../lib/writeup/mod.ts";
import { besideFlags, besideModel, besideProfile } from "../../lib/lesson/mod.ts";
import { refreshResults } from "../sim_validate.ts";

/** Where main writes; tests pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = "Usage: ./servelab calibrate RUN [--profile NAME] [--model ID_OR_DIR] [--model-label TEXT] " +
  "[--keep]   (RUN: a run id under reports/ or a folder)";

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
    const chosen = besideProfile(manifest);
    if (!values.profile && !chosen.profile) {
      throw new Error(`No device profile to replay on: ${chosen.how}. Name one with --profile NAME.`);
    }
    const profile = loadGpu(values.profile ?? chosen.profile!).name;
    // --model names a catalog model (or folder) as is; the run's own model may be a GGUF file (llama.cpp).
    const bm = values.model
      ? { model: loadModel(values.model).id, label: values.model, how: "", from_gguf: false, close: () => {} }
      : besideModel(manifest.model);
    if (values.keep && bm.from_gguf) {
      bm.close();
      throw new Error(
        `--keep stores the model's id with the rows, and the run's model ${manifest.model} has none (its shape ` +
          "was read from the GGUF file). Pass --model ID, a catalog model that stands for it.",
      );
    }
    const model = bm.model;
    let rows;
    try {
      rows = besideRun(dir, { profile, model, config: besideFlags(manifest) });
    } finally {
      bm.close();
    }
    const engine = `${manifest.engine?.kind ?? "engine"} ${manifest.engine?.version ?? ""}`.trim();
    const runId = manifest.run_id ?? run;
    Deno.writeTextFileSync(
      `${dir}/predicted_vs_measured.md`,
      besideMarkdown(rows, {
        profile,
        model: values["model-label"] ?? `${bm.label}${bm.how}`,
        run: runId,
        engine,
      }),
    );
    io.out(`wrote ${dir}/predicted_vs_measured.md (${rows.length} measured numbers beside the prediction)`);
    if (values.keep) {
      const kept = options.kept ?? new URL("../../data/validation/kept_runs.json", import.meta.url).pathname;
      const mine = keptRunRows(dir, runId, profile, model);
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
