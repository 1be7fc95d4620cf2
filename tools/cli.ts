/**
 * `./servelab <verb> ...`: the lab's command line. Each verb is a module in tools/cli/ exporting
 * `main(args: string[]): Promise<number>` (the exit code); it is loaded only when used.
 *
 *   deno run -A tools/cli.ts <verb> [args...]
 * @module
 */

/** A verb's module. */
export interface VerbModule {
  main(args: string[]): Promise<number>;
}

/**
 * The verbs. To add one: write tools/cli/<verb>.ts exporting `main(args): Promise<number>`, then add
 * one line here. (`test`, `lab` and `setup` are handled by the ./servelab bootstrap itself.)
 */
export const VERBS: Record<string, { summary: string; load: () => Promise<VerbModule> }> = {
  run: {
    summary: "run every tier notebook on one engine -> reports/<run-id>/index.html",
    load: () => import("./cli/run.ts"),
  },
  plan: {
    summary: "KV capacity and the concurrency question, computed from the model",
    load: () => import("./cli/plan.ts"),
  },
  sim: {
    summary: "serve the embedded vLLM-compatible engine: sim serve MODEL [vllm serve flags]",
    load: () => import("./cli/sim.ts"),
  },
  compare: {
    summary: "runs against the first, with noise verdicts and a page of overlaid curves: compare A B [C ...]",
    load: () => import("./cli/compare.ts"),
  },
  health: {
    summary: "canary load + /metrics against thresholds: health --url URL [--thresholds FILE] [--json]",
    load: () => import("./cli/health.ts"),
  },
  bench: {
    summary: "benchmarks of servelab itself (bench/*.ts) -> bench/results/<date>-<name>.md",
    load: () => import("./cli/bench.ts"),
  },
  calibrate: {
    summary: "the embedded engine's prediction beside a real run's numbers: calibrate RUN [--keep]",
    load: () => import("./cli/calibrate.ts"),
  },
  "tiny-model": {
    summary:
      "write the lab's tiny Llama model (random weights, own tokenizer) as an HF folder: tiny-model DIR",
    load: () => import("./cli/tiny_model.ts"),
  },
};

/** The usage text, listing the verbs. */
export function usage(): string {
  const width = Math.max(...Object.keys(VERBS).map((v) => v.length), 5);
  const lines = Object.entries(VERBS).map(([v, { summary }]) => `  ${v.padEnd(width)}  ${summary}`);
  return [
    "Usage: ./servelab <verb> [args...]",
    "",
    "Verbs:",
    `  ${"test".padEnd(width)}  the whole test suite, notebooks included (tools/ok.ts)`,
    `  ${"lab".padEnd(width)}  JupyterLab on notebooks/ (127.0.0.1), its files kept in .servelab/jupyter`,
    `  ${"setup".padEnd(width)}  install what is missing into .servelab/, one line per step`,
    ...lines,
    "",
    "Run './servelab <verb> --help' for a verb's options.",
  ].join("\n");
}

/**
 * Dispatches to a verb; returns the exit code (2 with the usage for an unknown or missing verb).
 *
 * @example
 * ```ts
 * Deno.exit(await dispatch(["run", "--size", "test"]));
 * ```
 */
export async function dispatch(
  args: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: console.log, err: console.error },
): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "help" || verb === "--help" || verb === "-h") {
    (verb === undefined ? io.err : io.out)(usage());
    return verb === undefined ? 2 : 0;
  }
  const entry = Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
  if (!entry) {
    io.err(`servelab: unknown verb '${verb}'.\n\n${usage()}`);
    return 2;
  }
  return await (await entry.load()).main(rest);
}

if (import.meta.main) Deno.exit(await dispatch(Deno.args));
