import assert from "node:assert/strict";
import { join } from "node:path";
import { $display } from "../report/bundle.ts";
import { besideFlags, besideProfile, ggufConfig, predictedBeside } from "./beside.ts";
import {
  parseGgufMetadata,
  tinyConfigJson,
  tinyGgufBytes,
  tinyModelSpec,
  tinyTokenizer,
} from "../tinymodel/mod.ts";

const KEPT = new URL("../../docs/examples/vllm-cpu-isolated", import.meta.url).pathname;
const html = (x: { [$display](): Record<string, unknown> }) => String(x[$display]()["text/html"]);

Deno.test("predictedBeside sets each measured TTFT, prefix and batching number of a real vLLM run beside the prediction", () => {
  for (const key of ["ttft", "prefix", "batching"]) {
    const b = predictedBeside(KEPT, key, { model: "servelab/tiny-llama" });
    assert.equal(b.reason, undefined, `${key}: ${b.reason}`);
    assert.ok(b.rows.length > 0, key);
    assert.equal(b.profile, "cpu-calibrated");
    for (const r of b.rows) {
      assert.equal(r.tier, key);
      assert.ok(r.measured > 0 && r.predicted > 0 && Number.isFinite(r.error), JSON.stringify(r));
    }
    const page = html(b);
    assert.match(page, /SIMULATED/);
    assert.match(page, /cpu-calibrated/);
    assert.match(page, /Median \|error\|: TTFT p50, ms: \d+ % over \d+/);
    assert.doesNotMatch(page, /undefined|NaN/);
  }
  // The prefix tier's replay keeps its arms apart: one row per point and arm.
  const prefix = predictedBeside(KEPT, "prefix", { model: "servelab/tiny-llama" }).rows;
  assert.ok(
    prefix.some((r) => r.point === "len-2048-c1 on") && prefix.some((r) => r.point === "len-2048-c1 off"),
  );
  // With the shared 2,048-token prefix cached, the embedded engine predicts a shorter TTFT than without.
  const at = (p: string) => prefix.find((r) => r.point === p)!.predicted;
  assert.ok(
    at("len-2048-c1 on") < at("len-2048-c1 off") / 2,
    `${at("len-2048-c1 on")} vs ${at("len-2048-c1 off")}`,
  );
});

Deno.test("predictedBeside says why there is nothing to compare, and never throws for a run it cannot replay", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // No manifest.
    assert.match(predictedBeside(dir, "ttft").reason!, /manifest\.json cannot be read/);
    // A run of the embedded engine.
    Deno.writeTextFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({ engine: { kind: "sim" }, gpu: { kind: "none" } }),
    );
    assert.match(predictedBeside(dir, "batching").reason!, /embedded engine itself \(SIMULATED\)/);
    // A real run whose tier left nothing.
    Deno.writeTextFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({
        engine: { kind: "vllm", version: "0.32.0" },
        model: "<b>x</b>",
        gpu: { kind: "none" },
      }),
    );
    assert.match(predictedBeside(dir, "ttft").reason!, /left no ttft\.csv/);
    // The KV tier has no replay and says what stands in for it.
    const kv = predictedBeside(dir, "kv");
    assert.match(kv.reason!, /does not replay this tier's measurements: .*planner/);
    // A model the engine does not know: the fix is named, and the server's text is escaped.
    Deno.copyFileSync(join(KEPT, "ttft.csv"), join(dir, "ttft.csv"));
    const unknown = predictedBeside(dir, "ttft");
    assert.match(unknown.reason!, /model <b>x<\/b> is not one the embedded engine knows.*--model ID/);
    assert.doesNotMatch(html(unknown), /<b>x<\/b>/);
    assert.match(html(unknown), /&lt;b&gt;x&lt;\/b&gt;/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.throws(
    () => predictedBeside(KEPT, "nope"),
    /'nope' is not a tier; use one of ttft, prefix, kv, batching/,
  );
});

Deno.test("besideProfile names the run's GPU profile, the nearest one, or none; besideFlags reads the serve flags", () => {
  const gpu = (name: string) => ({ gpu: { kind: "nvidia", devices: [{ name }] } });
  assert.deepEqual(besideProfile(gpu("NVIDIA H100 80GB HBM3")), {
    profile: "H100-80GB",
    how: "the run's GPU (NVIDIA H100 80GB HBM3)",
  });
  assert.equal(besideProfile(gpu("NVIDIA H100 PCIe")).profile, "H100-80GB");
  assert.match(besideProfile(gpu("NVIDIA H100 PCIe")).how, /nearest catalog profile/);
  assert.equal(besideProfile(gpu("NVIDIA B200")).profile, undefined);
  assert.match(besideProfile(gpu("NVIDIA B200")).how, /no profile in data\/gpus\//);
  assert.equal(besideProfile({ gpu: { kind: "none" } }).profile, "cpu-calibrated");
  assert.deepEqual(besideFlags({ config: { extra_args: ["--dtype", "float32", "--enforce-eager"] } }), {
    enforce_eager: true,
    dtype: "float32",
  });
  assert.deepEqual(besideFlags({ config: { dtype: "bfloat16" } }), {
    enforce_eager: false,
    dtype: "bfloat16",
  });
  assert.deepEqual(besideFlags({}), { enforce_eager: false, dtype: "auto" });
});

Deno.test("predictedBeside reads a GGUF run's model from the config.json beside it, else from its metadata", () => {
  const dir = Deno.makeTempDirSync();
  const scratch = () =>
    [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
      e.name.startsWith("servelab-gguf-model-")
    )
      .length;
  const before = scratch();
  try {
    const models = `${dir}/model`;
    Deno.mkdirSync(models);
    Deno.writeTextFileSync(`${models}/tiny.gguf`, "GGUF");
    Deno.writeTextFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({
        engine: { kind: "llamacpp", version: "b1" },
        model: `${models}/tiny.gguf`,
        gpu: { kind: "none" },
      }),
    );
    Deno.copyFileSync(join(KEPT, "ttft.csv"), join(dir, "ttft.csv"));
    // No config.json beside it and not a readable GGUF: the section says so.
    assert.match(
      predictedBeside(dir, "ttft").reason!,
      /tiny\.gguf is a GGUF file whose metadata cannot describe the model \(GGUF input ends at byte 4.*--model ID/,
    );
    // A real GGUF without a config.json: the shape comes from its metadata.
    const spec = tinyModelSpec();
    Deno.writeFileSync(`${models}/tiny.gguf`, tinyGgufBytes(spec));
    const fromMeta = predictedBeside(dir, "ttft");
    assert.equal(fromMeta.reason, undefined, fromMeta.reason);
    assert.ok(fromMeta.rows.length > 0);
    assert.equal(fromMeta.model, `${models}/tiny.gguf`);
    assert.match(html(fromMeta), /the shape in the GGUF file(&#39;|')s metadata, float32 weights/);
    // The lab's tiny model writes config.json beside its GGUF; that is the model the replay uses then.
    Deno.writeTextFileSync(
      `${models}/config.json`,
      JSON.stringify(tinyConfigJson(spec, tinyTokenizer(spec))),
    );
    const b = predictedBeside(dir, "ttft");
    assert.equal(b.reason, undefined, b.reason);
    assert.ok(b.rows.length > 0);
    assert.match(html(b), /the config\.json beside the run(&#39;|')s GGUF file/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.equal(scratch(), before, "the temporary config folder is removed");
});

Deno.test("ggufConfig reads a model's shape from GGUF metadata as config.json has it, and names a missing key", () => {
  const spec = tinyModelSpec();
  const { config, note } = ggufConfig(parseGgufMetadata(tinyGgufBytes(spec)));
  const want = tinyConfigJson(spec, tinyTokenizer(spec));
  for (
    const k of [
      "num_hidden_layers",
      "hidden_size",
      "num_attention_heads",
      "num_key_value_heads",
      "intermediate_size",
      "vocab_size",
      "max_position_embeddings",
    ]
  ) assert.equal(config[k], want[k], k);
  assert.equal(config.torch_dtype, "float32");
  assert.match(note, /float32 weights/);
  const md = parseGgufMetadata(tinyGgufBytes(spec));
  md.delete("llama.block_count");
  assert.throws(() => ggufConfig(md), /the GGUF file has no llama\.block_count/);
  md.set("llama.block_count", { kind: "uint32", value: 2 });
  md.set("general.file_type", { kind: "uint32", value: 15 });
  assert.match(ggufConfig(md).note, /quantized weights \(file type 15\) taken as 16-bit/);
});
