/**
 * The capability probe at the start of `./servelab run` (issue 20): the run's engine is asked what it offers
 * (lib/probe/capabilities.ts) and the answer goes into the manifest under `capabilities`, where the run index
 * shows it and the tiers read it. External servers and the embedded engine are probed (the embedded engine is
 * launched for the probe and stopped); vLLM is not: each tier launches its own, and a probe launch would warm
 * its compile cache before tier 01's cold start.
 * @module
 */
import { launch } from "../../lib/engine/mod.ts";
import { labEnv, serveConfigFor } from "../../lib/mod.ts";
import { type Capabilities, probeCapabilities, unprobedCapabilities } from "../../lib/probe/mod.ts";
import { type Run, updateManifest } from "../../lib/run/mod.ts";

/**
 * Probes the run's engine and records the answer in its manifest; never throws for the engine (a launch that
 * fails is recorded as "not probed" with its error, and the tiers report their own failures).
 *
 * @example
 * ```ts
 * const caps = await recordCapabilities(run, { SERVELAB_ENGINE: "external", SERVELAB_URL: url }, false);
 * ```
 */
export async function recordCapabilities(
  run: Run,
  env: Record<string, string>,
  allow_remote: boolean,
): Promise<Capabilities> {
  let caps: Capabilities;
  const kind = env.SERVELAB_ENGINE;
  if (kind === "vllm") {
    caps = unprobedCapabilities(
      "vLLM is launched by each tier; a probe launch would warm its compile cache before tier 01's cold start. " +
        "vLLM serves every endpoint the lab uses.",
    );
  } else {
    try {
      const lab = labEnv({ ...Deno.env.toObject(), ...env });
      const engine = await launch(serveConfigFor(lab), { allow_remote });
      try {
        caps = await probeCapabilities(engine.baseUrl, engine.model, {
          headers: engine.headers(),
          allow_remote,
        });
      } finally {
        await engine.stop();
      }
    } catch (err) {
      caps = unprobedCapabilities(
        `the engine did not start for the probe: ${(err as Error).message.split("\n")[0]}`,
      );
    }
  }
  await updateManifest(run.manifestPath, (m) => ({ ...m, capabilities: caps }));
  return caps;
}
