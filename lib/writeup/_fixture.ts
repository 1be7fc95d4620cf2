/** Test helper: a temporary copy of the fixture run folder (testdata/run, cut from a real sim run). */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The fixture run folder. */
export const FIXTURE_RUN = fileURLToPath(new URL("./testdata/run", import.meta.url));

/** Copies the fixture run into a temporary folder; dispose to remove it. */
export async function fixtureRun(): Promise<{ dir: string } & AsyncDisposable> {
  const tmp = await Deno.makeTempDir({ prefix: "servelab-writeup-" });
  const dir = join(tmp, "20261128-055714-sim-1e89");
  await cp(FIXTURE_RUN, dir, { recursive: true });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(tmp, { recursive: true }) };
}
