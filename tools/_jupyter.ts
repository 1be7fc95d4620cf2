/**
 * Running notebooks from Deno: finds the project's Jupyter venv and calls tools/run_notebooks.py,
 * streaming its output through and reading back its JSON summary.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { pinnedArgv } from "../lib/engine/mod.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const VENV = join(ROOT, ".servelab", "venv");
const DENO_BIN_DIR = join(ROOT, ".servelab", "npm", "node_modules", ".bin");

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The Python that has nbclient: the project venv's, else `python3` on PATH. */
export function jupyterPython(): string {
  const py = join(VENV, "bin", "python");
  return exists(py) ? py : "python3";
}

/** Environment for the runner: the venv and Deno on PATH, JUPYTER_PATH, DENO_DIR, SERVELAB_ROOT. */
export function jupyterEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    SERVELAB_ROOT: ROOT,
    PATH: [join(VENV, "bin"), DENO_BIN_DIR, Deno.env.get("PATH") ?? ""].join(":"),
  };
  if (!Deno.env.get("JUPYTER_PATH")) env.JUPYTER_PATH = join(VENV, "share", "jupyter");
  if (!Deno.env.get("DENO_DIR") && exists(join(ROOT, ".servelab", "deno-dir"))) {
    env.DENO_DIR = join(ROOT, ".servelab", "deno-dir");
  }
  return { ...env, ...extra };
}

/** One notebook's result, as run_notebooks.py reports it in its JSON summary. */
export const NotebookResult = z.object({
  notebook: z.string(),
  status: z.enum(["ok", "failed"]),
  error_kind: z.string().nullable(),
  error: z.string().nullable(),
  /** 1-based index of the failed cell. */
  cell: z.number().int().nullable(),
  seconds: z.number(),
  ipynb: z.string().optional(),
  html: z.string().optional(),
});
export type NotebookResult = z.infer<typeof NotebookResult>;

export const RunSummary = z.object({
  passed: z.number().int(),
  failed: z.number().int(),
  notebooks: z.array(NotebookResult),
});
export type RunSummary = z.infer<typeof RunSummary>;

/** Options for {@link runNotebooks}. */
export interface RunNotebooksOptions {
  /** Output folder for the executed .ipynb and .html files. */
  out: string;
  /** Extra environment for the kernels (parameters). */
  env?: Record<string, string>;
  /** Seconds per cell. Default 600. */
  timeoutS?: number;
  withInput?: boolean;
  /** Grace period for late outputs after each cell; 0 disables (run_notebooks.py default 25). */
  drainMs?: number;
  /** Capture the runner's stdout instead of streaming it (tests). Default false. */
  quiet?: boolean;
  /** Aborting sends SIGTERM to the runner, which stops the kernel, exports what ran, and exits 130. */
  signal?: AbortSignal;
  /** CPU list the runner and its kernels run on (`taskset -c`, inherited): the lab's client set. */
  cpus?: string;
  /** Each line the runner (and the kernels it starts) prints, as it comes, instead of streaming it through
   * (`./servelab run` draws its live progress around them). Ignored when `quiet`. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

/** Calls `each` for every line of a byte stream (a last line without a newline included). */
export async function eachLine(
  stream: ReadableStream<Uint8Array>,
  each: (line: string) => void,
): Promise<void> {
  let rest = "";
  const dec = new TextDecoder();
  for await (const bytes of stream) {
    const parts = (rest + dec.decode(bytes, { stream: true })).split(/\r?\n/);
    rest = parts.pop() ?? "";
    for (const l of parts) each(l);
  }
  if (rest) each(rest);
}

/**
 * Executes notebooks through tools/run_notebooks.py and returns its exit code and summary.
 *
 * @example
 * ```ts
 * const { code, summary } = await runNotebooks(["notebooks/01_ttft.ipynb"], { out: "reports/x" });
 * ```
 */
export async function runNotebooks(
  notebooks: readonly string[],
  options: RunNotebooksOptions,
): Promise<{ code: number; summary?: RunSummary; output: string }> {
  const json = await Deno.makeTempFile({ prefix: "servelab-nb-", suffix: ".json" });
  try {
    const args = [join(ROOT, "tools", "run_notebooks.py"), "--out", options.out, "--json", json];
    if (options.timeoutS !== undefined) args.push("--timeout", String(options.timeoutS));
    if (options.withInput) args.push("--with-input");
    if (options.drainMs !== undefined) args.push("--drain-ms", String(options.drainMs));
    args.push(...notebooks);
    const argv = pinnedArgv([jupyterPython(), ...args], options.cpus);
    const cmd = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: jupyterEnv(options.env),
      stdout: options.quiet || options.onLine ? "piped" : "inherit",
      stderr: options.quiet || options.onLine ? "piped" : "inherit",
      signal: options.signal,
    });
    let out: { code: number; stdout: Uint8Array; stderr: Uint8Array };
    if (options.onLine && !options.quiet) {
      const onLine = options.onLine;
      const child = cmd.spawn();
      await Promise.all([
        eachLine(child.stdout, (l) => onLine(l, "stdout")),
        eachLine(child.stderr, (l) => onLine(l, "stderr")),
      ]);
      const st = await child.status;
      out = { code: st.code, stdout: new Uint8Array(), stderr: new Uint8Array() };
    } else {
      out = await cmd.output();
    }
    const output = options.quiet
      ? new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr)
      : "";
    let summary: RunSummary | undefined;
    try {
      const text = await Deno.readTextFile(json);
      summary = text.trim() ? RunSummary.parse(JSON.parse(text)) : undefined;
    } catch {
      summary = undefined;
    }
    return { code: out.code, summary, output };
  } finally {
    await Deno.remove(json).catch(() => {});
  }
}
