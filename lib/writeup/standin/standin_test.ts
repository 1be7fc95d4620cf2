// Issue 20: every tier against the lab's own stand-in servers (lib/probe/testing/shape_proxy.ts in front of the
// embedded engine) at test size, then every page of the run grepped for undefined, NaN and empty values.
// About a minute: each shape runs all four tiers.
import assert from "node:assert/strict";
import { launch } from "../../engine/launch.ts";
import { labEnv, serveConfigFor } from "../../tiers/lab_env.ts";
import { shapeProxy, SHAPES } from "../../probe/testing/shape_proxy.ts";
import { TOKENIZER_ENV } from "../../probe/local_tokenizer.ts";
import { tinyModelSpec } from "../../tinymodel/spec.ts";
import { writeTinyModel } from "../../tinymodel/write.ts";
import { readManifest } from "../../run/manifest.ts";
import { runPages, runTiersAgainst } from "./run_tiers.ts";
import { buildWriteup } from "../writeup.ts";
import { numbersOutsideFacts } from "../trace.ts";

/** Lines of a page that show a value that is not one: undefined, NaN, Infinity, an empty table cell. */
export function badValues(name: string, text: string): string[] {
  const bad: string[] = [];
  text.split("\n").forEach((line, i) => {
    const where = `${name}:${i + 1}: ${line.slice(0, 160)}`;
    if (/\bundefined\b|\bNaN\b|\bInfinity\b/.test(line)) bad.push(where);
    else if (name.endsWith(".md") && line.trimStart().startsWith("|") && /\|[ \t]*\|/.test(line)) {
      bad.push(where);
    }
  });
  return bad;
}

async function withStandIn(
  shape: keyof typeof SHAPES,
  tokenizer: boolean,
  check: (r: Awaited<ReturnType<typeof runTiersAgainst>>) => Promise<void>,
) {
  const engine = await launch(serveConfigFor(labEnv({ SERVELAB_ENGINE: "sim", SERVELAB_SIZE: "test" })));
  const root = await Deno.makeTempDir({ prefix: "standin-" });
  const before = Deno.env.get(TOKENIZER_ENV);
  try {
    await using proxy = await shapeProxy(engine.baseUrl, SHAPES[shape]);
    if (tokenizer) {
      // The lab's tiny model's tokenizer.json: ids within the embedded engine's vocabulary, read by the npm package.
      await writeTinyModel(`${root}/tiny`, tinyModelSpec({}));
      Deno.env.set(TOKENIZER_ENV, `${root}/tiny`);
    } else Deno.env.delete(TOKENIZER_ENV);
    await check(await runTiersAgainst(proxy.baseUrl, engine.model, root));
  } finally {
    if (before === undefined) Deno.env.delete(TOKENIZER_ENV);
    else Deno.env.set(TOKENIZER_ENV, before);
    await engine.stop();
    await Deno.remove(root, { recursive: true });
  }
}

async function assertCleanPages(dir: string): Promise<string> {
  const pages = await runPages(dir);
  // The write-up page (05) as the notebook shows it: its sections' HTML.
  const writeup = (await buildWriteup(dir)).sections.map((s) => s.html.html).join("\n");
  pages.set("05_writeup.sections.html", writeup);
  assert.deepEqual(numbersOutsideFacts(pages.get("index.html")!), [], "every number on the index is a fact");
  assert.ok(pages.has("index.html") && pages.has("first_token_latency.md"), [...pages.keys()].join(", "));
  const bad = [...pages].flatMap(([name, text]) => badValues(name, text));
  assert.deepEqual(bad, [], bad.join("\n"));
  return writeup;
}

Deno.test("a bare server (no /tokenize, /metrics, /version; usage on request; no cached_tokens): every tier measures through the model's tokenizer, and no page shows undefined, NaN or an empty value", async () => {
  await withStandIn("bare", true, async ({ run, errors }) => {
    assert.deepEqual(errors, {});
    const m = await readManifest(run.manifestPath);
    for (const key of ["ttft", "prefix", "kv", "batching"]) {
      assert.equal(m.tiers?.[key].status, "complete", `${key}: ${JSON.stringify(m.tiers?.[key])}`);
    }
    const writeup = await assertCleanPages(run.dir);
    assert.match(writeup, /No tier had a failed point/);
    const index = await Deno.readTextFile(`${run.dir}/index.html`);
    assert.match(index, /Server capabilities/);
    assert.match(index, /POST \/tokenize<\/td><td><code>not served \(HTTP 404/);
    assert.match(index, /only with stream_options.include_usage/);
    const ttft = await Deno.readTextFile(`${run.dir}/first_token_latency.md`);
    assert.match(ttft, /Not measured: the server has no \/metrics \(HTTP 404/);
    assert.match(ttft, /Cold TTFT not measured: the lab cannot restart an external engine/);
    const kv = await Deno.readTextFile(`${run.dir}/kv_cache_scaling_notes.md`);
    assert.match(kv, /KV pool is not measured \(it exports no cache_config_info/);
    const prefixRuns = await Deno.readTextFile(`${run.dir}/prefix_cache_runs.csv`);
    assert.match(prefixRuns, /server metrics not measured \(Cannot scrape metrics/);
  });
});

Deno.test("an SGLang-shaped server: metrics read through SGLang's names; pages clean", async () => {
  await withStandIn("sglang", true, async ({ run, errors }) => {
    assert.deepEqual(errors, {});
    const m = await readManifest(run.manifestPath);
    assert.equal((m.capabilities as { metric_family?: string }).metric_family, "sglang");
    for (const key of ["ttft", "prefix", "kv", "batching"]) {
      assert.equal(m.tiers?.[key].status, "complete", key);
    }
    const server = await Deno.readTextFile(`${run.dir}/batching_server.csv`);
    assert.ok(server.split("\n").length > 2, "batching sampled the server's SGLang-named metrics");
    await assertCleanPages(run.dir);
  });
});

Deno.test("without /tokenize and without a local tokenizer, the tiers fail with the fix named, on the pages and in the manifest", async () => {
  await withStandIn("no_tokenize", false, async ({ run, errors }) => {
    const m = await readManifest(run.manifestPath);
    assert.equal(m.tiers?.ttft.status, "failed");
    assert.match(m.tiers?.ttft.cause ?? "", /no \/tokenize .* Set SERVELAB_TOKENIZER=/);
    assert.equal(m.tiers?.prefix.status, "failed");
    // Tier 04 builds its workload before its points: each point fails with the cause, and the tier throws it.
    assert.equal(m.tiers?.batching.status, "failed");
    assert.match(m.tiers?.batching.cause ?? "", /SERVELAB_TOKENIZER=/);
    assert.match(errors.batching ?? "", /SERVELAB_TOKENIZER=/);
    const index = await Deno.readTextFile(`${run.dir}/index.html`);
    assert.match(index, /<h2>Failures<\/h2>.*ttft: failed .*SERVELAB_TOKENIZER=/s);
    const writeup = await assertCleanPages(run.dir);
    assert.match(writeup, /Run outcome.*failed: every point failed; first failure.*SERVELAB_TOKENIZER=/s);
  });
});
