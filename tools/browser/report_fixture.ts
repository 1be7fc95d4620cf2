/**
 * A run folder for the browser tests: a copy of a real run's reports (`from`, e.g. the folder the gate's
 * notebooks step just wrote) or, standalone, a small fresh run of tier notebooks on the embedded engine at
 * SERVELAB_SIZE=test; plus hostile text injected into the run data (the model name in the manifest, and
 * prompts, a model and a server message in a CSV that the fixture notebook testdata/99_hostile.ipynb
 * shows through `md`, `table` and `plot`), and the run's index.html written last.
 *
 * Everything happens in a temporary folder; the source run is never changed.
 * @module
 */
import { cp } from "node:fs/promises";
import { basename, join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { writeRunIndex } from "../../lib/writeup/mod.ts";
import { createRun, finishRun, openRun, updateManifest } from "../../lib/run/mod.ts";
import { ROOT, runNotebooks } from "../_jupyter.ts";

/** Markup that runs script if a page ever inserts it as HTML: sets a global and opens a dialog. */
export const HOSTILE_IMG = `<img src=x onerror="globalThis.__servelab_pwned=1;alert('pwned img')">`;
/** Closes a script element and opens another, for pages that put text inside <script>. */
export const HOSTILE_SCRIPT = `</script><script>globalThis.__servelab_pwned=2;alert('pwned script')</script>`;
/** The global the hostile markup sets when it runs. */
export const PWNED_GLOBAL = "__servelab_pwned";

/** The fixture notebook that shows the hostile run data. */
export const HOSTILE_NOTEBOOK = join(ROOT, "tools", "browser", "testdata", "99_hostile.ipynb");

/** A run folder ready to serve; disposing it removes the temporary copy. */
export interface ReportFixture extends AsyncDisposable {
  /** The run folder (a temporary copy). */
  readonly dir: string;
  /** Whether the run is on the embedded engine (every page must say SIMULATED). */
  readonly sim: boolean;
  /** HTML file names of the tier pages (from notebooks/, without the hostile fixture page). */
  readonly tiers: string[];
  /** HTML file name of the hostile fixture page. */
  readonly hostile: string;
  /** Seconds spent building the folder. */
  readonly build_s: number;
}

/** Options of {@link reportFixture}. */
export interface ReportFixtureOptions {
  /** A finished run folder to copy. Default: run `notebooks` afresh (SERVELAB_SIZE=test, embedded engine). */
  from?: string;
  /** Notebooks to run when there is no `from`. Default notebooks/04_batching.ipynb. */
  notebooks?: string[];
}

function fail(what: string, r: { code: number; output: string }): never {
  throw new Error(
    `Cannot build the browser tests' run folder: ${what} exited ${r.code}.\n${r.output.slice(-4000)}`,
  );
}

/**
 * Builds the run folder the report browser tests load.
 *
 * @example
 * ```ts
 * await using fx = await reportFixture({ from: Deno.env.get("SERVELAB_BROWSER_RUN_DIR") });
 * console.log(fx.dir, fx.tiers);
 * ```
 */
export async function reportFixture(opts: ReportFixtureOptions = {}): Promise<ReportFixture> {
  const t0 = performance.now();
  const tmp = await Deno.makeTempDir({ prefix: "servelab-browser-run-" });
  try {
    let dir: string;
    if (opts.from) {
      dir = join(tmp, basename(opts.from.replace(/\/$/, "")));
      await cp(opts.from, dir, { recursive: true });
    } else {
      const run = await createRun({ engine: "sim", root: tmp, params: { size: "test" } });
      dir = run.dir;
      const notebooks = opts.notebooks ?? [join(ROOT, "notebooks", "04_batching.ipynb")];
      const r = await runNotebooks(notebooks, {
        out: dir,
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: dir },
        quiet: true,
      });
      if (r.code !== 0) fail(notebooks.map((n) => basename(n)).join(", "), r);
      await finishRun(run, "complete");
    }
    const tiers = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /^\d+_.*\.html$/.test(e.name)) tiers.push(e.name);
    }
    tiers.sort();
    if (tiers.length === 0) {
      throw new Error(`Cannot test the reports of ${opts.from}: it has no tier HTML pages.`);
    }

    const rows = [
      { prompt: HOSTILE_IMG, model: HOSTILE_SCRIPT, server_text: `model ${HOSTILE_IMG} does not exist` },
      { prompt: `${HOSTILE_SCRIPT} & "quotes" 'and' <b>bold</b>`, model: "m", server_text: HOSTILE_SCRIPT },
    ];
    await Deno.writeTextFile(join(dir, "hostile_prompts.csv"), stringify(rows, { header: true }));
    const r = await runNotebooks([HOSTILE_NOTEBOOK], {
      out: dir,
      env: { SERVELAB_RUN_DIR: dir },
      quiet: true,
    });
    if (r.code !== 0) fail(basename(HOSTILE_NOTEBOOK), r);

    const run = await openRun(dir);
    const manifest = await updateManifest(
      run.manifestPath,
      (m) => ({ ...m, model: `${HOSTILE_IMG}${HOSTILE_SCRIPT}` }),
    );
    await writeRunIndex(run);
    const build_s = (performance.now() - t0) / 1000;
    const close = async () => {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    };
    return {
      dir,
      sim: manifest.engine.kind === "sim",
      tiers,
      hostile: basename(HOSTILE_NOTEBOOK).replace(/\.ipynb$/, ".html"),
      build_s,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}
