/**
 * The server's capabilities as the run's capability probe found them (manifest `capabilities`, written by
 * `./servelab run`), for the tiers: a measure the server cannot give is "not measured (reason)" with the
 * probe's reason (lib/probe/capabilities.ts `missingCapability`).
 * @module
 */
import { Capabilities } from "../probe/capabilities.ts";
import { readManifest } from "../run/manifest.ts";
import type { Run } from "../run/run_dir.ts";

/**
 * The run's probed capabilities, or undefined when the run has none (a notebook opened alone, an old run).
 *
 * @example
 * ```ts
 * const why = missingCapability(await runCapabilities(run), "metrics"); // "the server has no /metrics (HTTP 404 ...)"
 * ```
 */
export async function runCapabilities(run: Pick<Run, "manifestPath">): Promise<Capabilities | undefined> {
  try {
    const m = await readManifest(run.manifestPath);
    const c = Capabilities.safeParse(m.capabilities);
    return c.success ? c.data : undefined;
  } catch {
    return undefined;
  }
}
