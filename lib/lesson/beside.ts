/**
 * "Predicted beside measured" on a tier page (issue 19): on a run against a real engine, what the embedded
 * engine predicts for the same model, device profile and workload, next to each number the tier measured,
 * with the error. The replay is the tier's own (the Tier contract's `beside`, in virtual time); the profile is
 * the run's GPU (nvidia-smi's name in the manifest, or the nearest catalog profile, named) or, without a GPU,
 * `cpu-calibrated`. On a run of the embedded engine itself, or for a tier with no replay, the section says so.
 * `./servelab calibrate RUN` writes the same rows for the whole run; `--keep` adds them to the profile's
 * validation table.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { $display, type Displayable, displayable } from "../report/bundle.ts";
import { codeText, h, type Html, htmlOutput, htmlTable } from "../report/html.ts";
import {
  besideMedian,
  besideNumber,
  type BesideOptions,
  type BesideRow,
  listGpus,
  loadGpu,
  loadModel,
  validationNote,
} from "../sim/mod.ts";
import { TIERS } from "../tiers/mod.ts";
import { type GgufValue, parseGgufMetadata } from "../tinymodel/mod.ts";
import type { AnyTier } from "../tiers/tier.ts";

/** The device profile a real run is replayed on, and how it was chosen (said on the page). */
export interface BesideProfile {
  profile: string;
  how: string;
}

const str = (v: unknown): string | undefined => typeof v === "string" && v ? v : undefined;

/**
 * The catalog profile for a run's manifest: the GPU's own name when the catalog knows it (data/gpus/ keeps
 * nvidia-smi's names as aliases), else the profile whose name appears in the GPU's name (nearest, named as
 * such), else none; `cpu-calibrated` on a host with no GPU.
 *
 * @example
 * ```ts
 * besideProfile({ gpu: { kind: "nvidia", devices: [{ name: "NVIDIA H100 80GB HBM3" }] } }).profile; // "H100-80GB"
 * besideProfile({ gpu: { kind: "none" } }).profile; // "cpu-calibrated"
 * ```
 */
export function besideProfile(
  manifest: Record<string, unknown>,
): BesideProfile | { profile?: undefined; how: string } {
  const gpu = manifest.gpu as { kind?: string; devices?: { name?: string }[] } | undefined;
  const name = str(gpu?.devices?.[0]?.name);
  if (gpu?.kind !== "nvidia" || !name) {
    return {
      profile: "cpu-calibrated",
      how: "no GPU on the run's host: the CPU profile fitted to vLLM's CPU backend",
    };
  }
  try {
    return { profile: loadGpu(name).name, how: `the run's GPU (${name})` };
  } catch { /* not an alias: look for the nearest */ }
  const words = name.toUpperCase().replace(/^NVIDIA\s+/, "").split(/[\s-]+/);
  const near = listGpus().filter((g) => loadGpu(g).kind === "gpu").find((g) =>
    words.includes(g.toUpperCase().split("-")[0])
  );
  return near
    ? { profile: near, how: `the nearest catalog profile to the run's GPU (${name})` }
    : { how: `the run's GPU (${name}) has no profile in data/gpus/ (add one with its sources)` };
}

/** At most this much of a GGUF file is read for its metadata (the tokenizer's arrays come first; weights after). */
const GGUF_HEAD_BYTES = 64 * 1024 * 1024;

/**
 * A Llama/Qwen2-style config.json made from a GGUF file's metadata (llama.cpp's keys: `<arch>.block_count`,
 * `<arch>.embedding_length`, `<arch>.attention.head_count[_kv]`, ...), and what it leaves out. Weights are
 * taken as 32-bit for an F32 file, 16-bit otherwise (a quantized file's smaller weights are not modelled);
 * embeddings as untied. Throws, naming the key, when the file lacks one.
 *
 * @example
 * ```ts
 * ggufConfig(parseGgufMetadata(bytes)).config.num_hidden_layers; // 2
 * ```
 */
export function ggufConfig(
  md: ReadonlyMap<string, GgufValue>,
): { config: Record<string, unknown>; note: string } {
  const scalar = (k: string) => {
    const v = md.get(k);
    return v && v.kind !== "array" ? v.value : undefined;
  };
  const arch = String(scalar("general.architecture") ?? "");
  const need = (k: string): number => {
    const v = scalar(`${arch}.${k}`);
    if (typeof v !== "number" && typeof v !== "bigint") {
      throw new Error(`the GGUF file has no ${arch}.${k}`);
    }
    return Number(v);
  };
  const tokens = md.get("tokenizer.ggml.tokens");
  const vocab = scalar(`${arch}.vocab_size`) ?? (tokens?.kind === "array" ? tokens.values.length : undefined);
  if (vocab === undefined) {
    throw new Error(`the GGUF file has no ${arch}.vocab_size or tokenizer.ggml.tokens`);
  }
  const fileType = Number(scalar("general.file_type") ?? -1);
  const dtype = fileType === 0 ? "float32" : fileType === 1 ? "float16" : "bfloat16";
  const keyLength = scalar(`${arch}.attention.key_length`);
  return {
    config: {
      architectures: [arch === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
      model_type: arch,
      num_hidden_layers: need("block_count"),
      hidden_size: need("embedding_length"),
      num_attention_heads: need("attention.head_count"),
      num_key_value_heads: need("attention.head_count_kv"),
      ...(keyLength !== undefined ? { head_dim: Number(keyLength) } : {}),
      intermediate_size: need("feed_forward_length"),
      vocab_size: Number(vocab),
      max_position_embeddings: need("context_length"),
      torch_dtype: dtype,
    },
    note: fileType === 0 || fileType === 1
      ? `the shape in the GGUF file's metadata, ${dtype} weights`
      : `the shape in the GGUF file's metadata; its quantized weights (file type ${fileType}) taken as 16-bit`,
  };
}

/** The model of a GGUF file as a config.json in a new temporary folder, and the words for the page. */
function ggufModelDir(path: string): { dir: string; note: string } {
  const file = Deno.openSync(path);
  let head: Uint8Array;
  try {
    head = new Uint8Array(Math.min(file.statSync().size, GGUF_HEAD_BYTES));
    let at = 0;
    while (at < head.length) {
      const n = file.readSync(head.subarray(at));
      if (n === null) break;
      at += n;
    }
  } finally {
    file.close();
  }
  const { config, note } = ggufConfig(parseGgufMetadata(head));
  const dir = Deno.makeTempDirSync({ prefix: "servelab-gguf-model-" });
  Deno.writeTextFileSync(join(dir, "config.json"), JSON.stringify(config));
  return { dir, note };
}

/** The model a replay runs, and how the page names it; `close()` removes a scratch folder. */
export interface BesideModel {
  /** What the embedded engine loads (a catalog id, a model folder, or a scratch folder). */
  model: string;
  /** The run's own name for it. */
  label: string;
  /** Where its shape came from, when not from the catalog or a config.json folder (" (...)"). */
  how: string;
  /** True when the shape was read from a GGUF file's metadata (a scratch config the caller must not keep). */
  from_gguf: boolean;
  close(): void;
}

/**
 * The embedded engine's model for a run's model: a catalog id or a folder with a config.json as they are; a
 * GGUF file (llama.cpp) through the config.json beside it, else through its own metadata (a scratch config
 * folder, removed by `close()`). Throws with the reason and the fix when none of these describes the model.
 *
 * @example
 * ```ts
 * const m = besideModel("/models/tiny/tiny-llama.gguf");
 * try { run(m.model); } finally { m.close(); }
 * ```
 */
export function besideModel(modelId: string | undefined): BesideModel {
  const plain = (model: string, how = ""): BesideModel => ({
    model,
    label: modelId ?? model,
    how,
    from_gguf: false,
    close: () => {},
  });
  let unknown: Error;
  try {
    return plain(loadModel(modelId ?? "").id);
  } catch (e) {
    unknown = e as Error;
  }
  const fix = "Name a catalog model that stands for it: ./servelab calibrate RUN --model ID.";
  if (!modelId?.toLowerCase().endsWith(".gguf")) {
    throw new Error(
      `the run's model ${modelId ?? "(not recorded)"} is not one the embedded engine knows (${
        unknown.message.split(". ")[0]
      }). ${fix}`,
    );
  }
  // A GGUF file (llama.cpp) in a model folder: the config.json beside it describes the same model.
  const folder = dirname(modelId);
  try {
    if (existsSync(join(folder, "config.json"))) {
      return plain(loadModel(folder).id, " (the config.json beside the run's GGUF file)");
    }
  } catch { /* a broken config.json: read the GGUF instead */ }
  let scratch: string | undefined;
  try {
    const g = ggufModelDir(modelId);
    scratch = g.dir;
    loadModel(g.dir);
    return {
      model: g.dir,
      label: modelId,
      how: ` (${g.note})`,
      from_gguf: true,
      close: () => Deno.removeSync(g.dir, { recursive: true }),
    };
  } catch (e) {
    if (scratch) Deno.removeSync(scratch, { recursive: true });
    throw new Error(
      `the run's model ${modelId} is a GGUF file whose metadata cannot describe the model (${
        (e as Error).message
      }). ${fix}`,
    );
  }
}

/** The serve flags of the run that change the replay's timing: `--enforce-eager` and `--dtype`. */
export function besideFlags(manifest: Record<string, unknown>): NonNullable<BesideOptions["config"]> {
  const cfg = (manifest.config ?? {}) as { enforce_eager?: boolean; dtype?: string; extra_args?: string[] };
  const extra = Array.isArray(cfg.extra_args) ? cfg.extra_args.map(String) : [];
  const eq = extra.find((a) => a.startsWith("--dtype="))?.slice(8);
  const i = extra.indexOf("--dtype");
  const dtype = eq ?? (i >= 0 ? extra[i + 1] : undefined) ?? str(cfg.dtype) ?? "auto";
  return {
    enforce_eager: cfg.enforce_eager === true || extra.includes("--enforce-eager"),
    dtype: (["float32", "bfloat16", "float16"].includes(dtype) ? dtype : "auto") as "auto",
  };
}

/** The section, as data and as a displayable block. */
export interface PredictedBeside extends Displayable {
  readonly kind: "beside";
  /** Measured beside predicted; empty when the section says why there is nothing to compare. */
  readonly rows: readonly BesideRow[];
  readonly profile?: string;
  readonly model?: string;
  /** Why no rows, when none. */
  readonly reason?: string;
}

const pct = (e: number) => `${e >= 0 ? "+" : ""}${(e * 100).toFixed(0)} %`;
const METRIC: Record<BesideRow["metric"], string> = {
  ttft_ms: "TTFT p50, ms",
  tpot_ms: "TPOT p50, ms",
  throughput_rps: "throughput, req/s",
};

function section(body: Html, fields: Omit<PredictedBeside, "kind" | typeof $display>): PredictedBeside {
  const html = h`<h3>The embedded engine's prediction beside this run</h3>${body}`;
  return displayable(htmlOutput(html)[$display](), { kind: "beside" as const, ...fields });
}

/**
 * The "predicted beside measured" section of tier `key`'s page for the run in `dir`. Never throws for a run
 * it cannot replay: the section then says why (a run of the embedded engine, a tier with no replay, a model
 * or GPU the catalog does not know, with the fix). Throws for a key that is no tier.
 *
 * @example
 * ```ts
 * await show(predictedBeside(run.dir, "batching"));
 * ```
 */
export function predictedBeside(
  dir: string,
  key: string,
  o: { profile?: string; model?: string } = {},
  tiers: readonly AnyTier[] = TIERS,
): PredictedBeside {
  const tier = tiers.find((t) => t.key === key);
  if (!tier) {
    throw new Error(
      `predictedBeside: '${key}' is not a tier; use one of ${tiers.map((t) => t.key).join(", ")}.`,
    );
  }
  const none = (reason: string) => section(h`<p>${reason}</p>`, { rows: [], reason });
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(Deno.readTextFileSync(join(dir, "manifest.json")));
  } catch (e) {
    return none(`No prediction: the run's manifest.json cannot be read (${(e as Error).message}).`);
  }
  const engine = manifest.engine as { kind?: string; version?: string } | undefined;
  if (engine?.kind === "sim" || (engine?.version ?? "").includes("servelab-sim")) {
    return none(
      "This run is the embedded engine itself (SIMULATED): there is no measurement to set a prediction beside. " +
        "On a run against a real engine (vLLM, llama.cpp, an external server) this section shows what the " +
        "embedded engine predicts for each number this tier measured, and the error.",
    );
  }
  if (!tier.beside) {
    return none(
      `The embedded engine does not replay this tier's measurements: ${
        tier.besideGap ?? "its numbers depend on state the replay does not reproduce"
      }. The ${
        tiers.filter((t) => t.beside).map((t) => t.title).join(", ")
      } pages show their prediction beside the measurement.`,
    );
  }
  if (!existsSync(join(dir, tier.files[0].name))) {
    return none(`No prediction: this tier left no ${tier.files[0].name} in the run to replay.`);
  }
  const chosen = o.profile ? { profile: o.profile, how: "given" } : besideProfile(manifest);
  if (!chosen.profile) return none(`No prediction: ${chosen.how}.`);
  let bm: BesideModel;
  try {
    bm = besideModel(o.model ?? str(manifest.model));
  } catch (e) {
    return none(`No prediction: ${(e as Error).message}`);
  }
  let rows: BesideRow[];
  try {
    rows = tier.beside(dir, { profile: chosen.profile, model: bm.model, config: besideFlags(manifest) });
  } catch (e) {
    return none(`No prediction: the replay failed (${(e as Error).message}).`);
  } finally {
    bm.close();
  }
  if (rows.length === 0) {
    return none("No prediction: none of this tier's points had a valid measured number to replay.");
  }
  const medians = (Object.keys(METRIC) as BesideRow["metric"][]).flatMap((m) => {
    const e = rows.filter((r) => r.metric === m).map((r) => Math.abs(r.error));
    return e.length ? [`${METRIC[m]}: ${(besideMedian(e) * 100).toFixed(0)} % over ${e.length}`] : [];
  });
  const body = h`<p>Measured: ${engine?.kind ?? "engine"}${
    engine?.version ? ` ${engine.version}` : ""
  }. Predicted (<strong>SIMULATED</strong>): the embedded engine on the ${
    codeText(chosen.profile)
  } profile (${chosen.how}), model ${
    codeText(bm.label)
  }${bm.how}, each point's requests replayed in virtual time with the run's own prompt and output lengths and concurrency. Error = predicted / measured − 1. ${
    validationNote(chosen.profile)
  }.</p>${
    htmlTable(
      ["point", "metric", "requests", "measured", "predicted (SIMULATED)", "error"],
      rows.map((
        r,
      ) => [
        r.point,
        METRIC[r.metric],
        String(r.n),
        besideNumber(r.measured),
        besideNumber(r.predicted),
        pct(r.error),
      ]),
    )
  }<p>Median |error|: ${medians.join("; ")}.</p>`;
  return section(body, { rows, profile: chosen.profile, model: bm.label });
}
