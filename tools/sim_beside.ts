/**
 * Writes `predicted_vs_measured.md` into a kept run's folder: every measured TTFT and batching number of the
 * run beside what the embedded engine predicts for the same requests on a named profile (lib/sim/beside.ts).
 *
 *   deno run -A tools/sim_beside.ts RUN_DIR [--profile cpu-calibrated] [--model ID_OR_DIR] [--model-label TEXT]
 *     [--print]
 *
 * The profile defaults to the run's GPU as the manifest names it (a catalog name or alias), or to
 * `cpu-calibrated` when the run saw no GPU.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { besideMarkdown, loadGpu, loadModel } from "../lib/sim/mod.ts";
import { besideRun } from "../lib/writeup/mod.ts";

function main() {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      profile: { type: "string" },
      model: { type: "string" },
      "model-label": { type: "string" },
      print: { type: "boolean", default: false },
    },
  });
  const dir = positionals[0];
  if (!dir) throw new Error("Usage: deno run -A tools/sim_beside.ts RUN_DIR [--profile NAME] [--model ID]");
  const manifest = JSON.parse(Deno.readTextFileSync(`${dir}/manifest.json`));
  const gpuName: string | undefined = manifest.gpu?.name ?? manifest.gpu?.gpus?.[0]?.name;
  let profile = values.profile;
  if (!profile) {
    if (!gpuName || manifest.gpu?.kind === "none") profile = "cpu-calibrated";
    else {
      try {
        profile = loadGpu(gpuName).name;
      } catch {
        throw new Error(
          `The run's GPU '${gpuName}' is not a catalog profile: pass --profile with the nearest one.`,
        );
      }
    }
  }
  let model = values.model ?? manifest.model;
  try {
    model = loadModel(model).id;
  } catch {
    throw new Error(
      `The run's model '${model}' is not in the catalog: pass --model with the catalog id that stands for it ` +
        `(e.g. servelab/tiny-llama for the lab's tiny model).`,
    );
  }
  const rows = besideRun(dir, { profile, model });
  const engine = `${manifest.engine?.kind ?? "engine"} ${manifest.engine?.version ?? ""}`.trim();
  const label = values["model-label"] ?? model;
  const md = besideMarkdown(rows, { profile, model: label, run: manifest.run_id ?? dir, engine });
  if (values.print) console.log(md);
  else {
    Deno.writeTextFileSync(`${dir}/predicted_vs_measured.md`, md);
    console.log(`wrote ${dir}/predicted_vs_measured.md (${rows.length} numbers)`);
  }
}

if (import.meta.main) main();
