/**
 * Test helper (issue 20): every tier, run as its notebook runs it (measure, then its write-up), against an
 * external engine at test size, then the day's write-up and the run index; returns the run folder. The
 * stand-in tests point it at the lab's own stand-in servers (lib/probe/testing/shape_proxy.ts).
 * @module
 */
import { join } from "node:path";
import { type LabEnv, labEnv } from "../../tiers/lab_env.ts";
import { createRun, type Run } from "../../run/run_dir.ts";
import { updateManifest } from "../../run/manifest.ts";
import { tierOutcomes } from "../../run/outcome.ts";
import { probeCapabilities } from "../../probe/capabilities.ts";
import * as ttft from "../../tiers/ttft/public.ts";
import * as prefix from "../../tiers/prefix/public.ts";
import * as kv from "../../tiers/kv/public.ts";
import * as batching from "../../tiers/batching/public.ts";
import { buildWriteup, writeWriteupFiles } from "../writeup.ts";
import { writeRunIndex } from "../run_index.ts";

/** What each tier's run threw (a harness error, not a point failure), by tier key. */
export type TierErrors = Record<string, string>;

/**
 * Runs every tier against `url` (engine external, size test) into a new run under `root`.
 *
 * @example
 * ```ts
 * const { run, errors } = await runTiersAgainst(proxy.baseUrl, "Qwen/Qwen2.5-1.5B-Instruct", root);
 * ```
 */
export async function runTiersAgainst(
  url: string,
  model: string,
  root: string,
  env: Record<string, string> = {},
): Promise<{ run: Run; lab: LabEnv; errors: TierErrors }> {
  const lab = labEnv({
    SERVELAB_ENGINE: "external",
    SERVELAB_URL: url,
    SERVELAB_MODEL: model,
    SERVELAB_SIZE: "test",
    ...env,
  });
  const run = await createRun({ engine: "external", root, model, params: { size: "test", url } });
  const caps = await probeCapabilities(url, model, { timeout_ms: 10_000 });
  await updateManifest(run.manifestPath, (m) => ({ ...m, capabilities: caps }));
  const errors: TierErrors = {};
  const attempt = async (key: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors[key] = (e as Error).message;
    }
  };
  await attempt("ttft", async () => {
    const params = ttft.params(lab.size);
    await ttft.measure(run, lab, params);
    await ttft.writeReport(run, lab, params);
  });
  await attempt("prefix", async () => {
    const params = prefix.params(lab);
    const measured = await prefix.measure(run, lab, params);
    const { requests, runs } = await prefix.readResults(run.dir);
    await prefix.writeWriteup(run, prefix.findings(requests, runs), {
      lab,
      params,
      runs,
      notes: measured.notes,
    });
  });
  await attempt("kv", async () => {
    const P = kv.params(lab);
    const M = await kv.measure(run, lab, P);
    await kv.writeNotes(run, { lab, params: P, measurement: M, capacity: kv.capacityAnswers(M, P.question) });
  });
  await attempt("batching", async () => {
    const params = batching.params(lab.size);
    const measured = await batching.measure(run, lab, params);
    const results = await batching.readResults(run);
    const findings = batching.findings(results.points, results.requests, params);
    await batching.writeReport(run, {
      run_id: run.id,
      measurement: measured,
      findings,
      params,
      size: lab.size,
    });
  });
  await attempt("writeup", async () => {
    await writeWriteupFiles(await buildWriteup(run.dir));
  });
  const tiers = await tierOutcomes(run.dir, ["ttft", "prefix", "kv", "batching"]);
  await updateManifest(run.manifestPath, (m) => ({ ...m, tiers }));
  await attempt("index", () => writeRunIndex(run));
  return { run, lab, errors };
}

/** Every page-like file of a run folder (markdown, HTML, JSON facts), relative path -> text. */
export async function runPages(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && /\.(md|html)$/.test(e.name)) out.set(e.name, await Deno.readTextFile(join(dir, e.name)));
  }
  return out;
}
