/**
 * The one gate: `deno task ok` and `./servelab test` run it, and CI reads its last line.
 *
 * Steps, in order: fmt (check), lint, check (lib/ tools/ bench/), nbcheck (the notebooks' code),
 * nbstrip (no outputs committed), test (`deno test --parallel`, without the timing-fidelity tests),
 * fidelity (the `*fidelity_test.ts` files, alone and in sequence: they assert the client's timing error in
 * ms and must not share the 2 cores with the rest of the suite), notebooks (every notebooks/*.ipynb
 * executed with SERVELAB_SIZE=test and SERVELAB_ENGINE=sim into reports/test-<timestamp>/, then
 * tools/cli/run_pipe_test.ts: a whole `./servelab run --size test` to a pipe), browser
 * (tools/browser/ in Debian's Chromium: the HTML reports of the notebooks step's folder, screenshots into
 * its browser/ subfolder, and JupyterLab running a tier notebook; SERVELAB_BROWSER_LAB=0 skips the latter).
 * Each step prints its result and time; `test` counts the tests deno ran, every other step counts as
 * one; `browser` counts its tests and their steps. The output ends with exactly one line
 * `N passed, N failed` (children's output is indented, so no other line looks like it); the exit code is
 * 1 if anything failed. `--no-notebooks` skips the browser step too (it would run a notebook of its own).
 *
 * Opt-in step `real` (`--real`, or `--only real`): real engines end to end. It installs llama.cpp's server
 * (tools/real/llamacpp_install.sh; vLLM on CPU too when a real test's file name mentions vllm) and runs every
 * `*_real_test.ts` under tools/real/ in sequence; those start the engines on 127.0.0.1, run the lab against
 * them and stop them (docs/adr/0012-llamacpp-server.md). The `test` step leaves them out.
 *
 *   deno run -A tools/ok.ts [--only step,...] [--skip step,...] [--no-notebooks] [--real]
 * @module
 */
import { join } from "node:path";
import { createRun, finishRun } from "../lib/run/mod.ts";
import { ROOT, runNotebooks } from "./_jupyter.ts";
import { listNotebooks } from "./_notebooks.ts";
import { readRecordedRun, runContractDiffs } from "./run_contract.ts";

/** The gate's steps, in order. */
export const STEPS = [
  "fmt",
  "lint",
  "check",
  "nbcheck",
  "nbstrip",
  "test",
  "fidelity",
  "notebooks",
  "browser",
] as const;
/** Steps that run only when asked for (`--real`, `--only real`): they install and start real engines. */
export const OPT_IN_STEPS = ["real"] as const;
export type Step = typeof STEPS[number] | typeof OPT_IN_STEPS[number];
const ALL_STEPS: readonly Step[] = [...STEPS, ...OPT_IN_STEPS];

/** Counts from deno test's closing line: `ok | 12 passed (3 steps) | 0 failed (2s)`. */
export interface TestCounts {
  passed: number;
  failed: number;
  steps?: number;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parses deno test's summary line (the last one in `output`), or undefined when there is none.
 *
 * @example
 * ```ts
 * parseDenoTestSummary("FAILED | 3 passed | 1 failed (1s)"); // { passed: 3, failed: 1 }
 * ```
 */
export function parseDenoTestSummary(output: string): TestCounts | undefined {
  const lines = output.replace(ANSI, "").split("\n").reverse();
  for (const line of lines) {
    const m = line.match(/^\s*(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed/);
    if (m) {
      const counts: TestCounts = { passed: Number(m[1]), failed: Number(m[3]) };
      if (m[2] !== undefined) counts.steps = Number(m[2]);
      return counts;
    }
  }
  return undefined;
}

/** Parsed command line of the gate. */
export interface OkArgs {
  steps: Step[];
}

/**
 * The steps to run for the given flags.
 *
 * @example
 * ```ts
 * parseOkArgs(["--skip", "fmt,lint", "--no-notebooks"]).steps; // ["check", "nbcheck", "nbstrip", "test"]
 * ```
 */
export function parseOkArgs(args: readonly string[]): OkArgs {
  let only: Step[] | undefined;
  const skip = new Set<Step>();
  const optIn = new Set<Step>();
  const list = (flag: string, v: string | undefined): Step[] => {
    if (!v) throw new Error(`${flag} needs a comma-separated list of steps (${STEPS.join(", ")}).`);
    return v.split(",").map((s) => {
      if (!(ALL_STEPS as readonly string[]).includes(s)) {
        throw new Error(`Unknown step '${s}' in ${flag}; steps are ${ALL_STEPS.join(", ")}.`);
      }
      return s as Step;
    });
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a];
    if (flag === "--only") only = list(flag, inline ?? args[++i]);
    else if (flag === "--skip") list(flag, inline ?? args[++i]).forEach((s) => skip.add(s));
    else if (flag === "--real") optIn.add("real");
    else if (flag === "--no-notebooks") {
      skip.add("notebooks");
      skip.add("browser");
    } else {throw new Error(
        `Unknown option '${a}'. Usage: ok.ts [--only step,...] [--skip step,...] [--no-notebooks] [--real]`,
      );}
  }
  return {
    steps: ALL_STEPS.filter((s) =>
      (only ? only.includes(s) : (STEPS as readonly Step[]).includes(s) || optIn.has(s)) && !skip.has(s)
    ),
  };
}

/** Copies a child's stream to ours, indenting each line, and keeps the text. */
async function relay(
  stream: ReadableStream<Uint8Array>,
  to: typeof Deno.stdout,
  keep: string[],
): Promise<void> {
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  let atStart = true;
  for await (const chunk of stream) {
    const text = dec.decode(chunk, { stream: true });
    keep.push(text);
    let out = "";
    for (const ch of text) {
      if (atStart && ch !== "\n") out += "  ";
      out += ch;
      atStart = ch === "\n";
    }
    await to.write(enc.encode(out));
  }
}

/** Runs a command from the repo root, streaming its output (indented). */
async function exec(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{
  code: number;
  output: string;
}> {
  console.log(`  $ ${[cmd === Deno.execPath() ? "deno" : cmd, ...args].join(" ")}`);
  const child = new Deno.Command(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" }).spawn();
  const keep: string[] = [];
  await Promise.all([relay(child.stdout, Deno.stdout, keep), relay(child.stderr, Deno.stderr, keep)]);
  const { code } = await child.status;
  return { code, output: keep.join("") };
}

function existing(dirs: string[]): string[] {
  return dirs.filter((d) => {
    try {
      return Deno.statSync(join(ROOT, d)).isDirectory;
    } catch {
      return false;
    }
  });
}

function stamp(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/** Real-engine tests (`*_real_test.ts` under tools/real/): run only in the opt-in `real` step. */
const REAL_TESTS_DIR = "tools/real";

/** The real-engine test files, sorted. */
export async function realTests(root = ROOT): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, REAL_TESTS_DIR))) {
      if (e.isFile && e.name.endsWith("_real_test.ts")) found.push(`${REAL_TESTS_DIR}/${e.name}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return found.sort();
}

/** The browser tests: run on their own in the `browser` step, not in `test`. */
const BROWSER_TESTS = "tools/browser/";
/** Tests that run a whole `./servelab run` (every notebook): in the `notebooks` step, after its run and alone,
 * not in `test`, where they would take the 2 cores from the timing tests running beside them. */
export const RUN_TESTS: readonly string[] = ["tools/cli/run_pipe_test.ts"];
/** The run folder the notebooks step wrote, when all its notebooks passed (the browser step reuses it). */
let notebooksRunDir: string | undefined;

interface StepResult {
  step: Step;
  passed: number;
  failed: number;
  seconds: number;
  note: string;
}

async function runStep(step: Step): Promise<Omit<StepResult, "seconds">> {
  const deno = Deno.execPath();
  const one = (code: number, note = "") => ({
    step,
    passed: code === 0 ? 1 : 0,
    failed: code === 0 ? 0 : 1,
    note,
  });
  switch (step) {
    case "fmt":
      return one((await exec(deno, ["fmt", "--check"])).code);
    case "lint":
      return one((await exec(deno, ["lint"])).code);
    case "check":
      return one((await exec(deno, ["check", ...existing(["lib/", "tools/", "bench/"])])).code);
    case "nbcheck":
      return one((await exec(deno, ["run", "-A", "tools/nbcheck.ts", "notebooks/"])).code);
    case "nbstrip":
      return one((await exec(deno, ["run", "-A", "tools/nbstrip.ts", "--check", "notebooks/"])).code);
    case "test":
    case "fidelity": {
      const fidelity = await fidelityTests();
      const args = step === "test"
        ? ["test", "-A", "--parallel", ...await unitTestFiles()]
        : ["test", "-A", ...fidelity];
      if (step === "fidelity" && fidelity.length === 0) return one(0, "no fidelity tests");
      const r = await exec(deno, args);
      const counts = parseDenoTestSummary(r.output);
      if (!counts) return { ...one(r.code, "no summary line from deno test"), step };
      const failed = r.code !== 0 && counts.failed === 0 ? 1 : counts.failed;
      const steps = counts.steps ? ` (${counts.steps} steps)` : "";
      const note = `${counts.passed} tests passed${steps}, ${counts.failed} failed` +
        (failed !== counts.failed ? `; deno test exited ${r.code}` : "");
      return { step, passed: counts.passed, failed, note };
    }
    case "notebooks": {
      const notebooks = (await listNotebooks([join(ROOT, "notebooks")])).filter((p) =>
        !p.includes("/notebooks/.ipynb_checkpoints/") && /\/notebooks\/[^/]+\.ipynb$/.test(p)
      );
      if (notebooks.length === 0) return one(0, "no notebooks in notebooks/ yet");
      const run = await createRun({ engine: "sim", id: `test-${stamp()}`, params: { size: "test" } });
      console.log(`  reports: ${run.dir}`);
      const r = await runNotebooks(notebooks, {
        out: run.dir,
        env: { SERVELAB_SIZE: "test", SERVELAB_ENGINE: "sim", SERVELAB_RUN_DIR: run.dir },
      });
      await finishRun(
        run,
        r.code === 0 ? "complete" : "failed",
        r.code === 0 ? undefined : "notebooks failed",
      );
      if (r.code === 0) notebooksRunDir = run.dir;
      const s = r.summary;
      // The run holds to the recorded contract: the same files, columns and fact ids as before the tier
      // contract (issue 15) when every notebook ran.
      const diffs = r.code === 0 && notebooks.length === 5
        ? await runContractDiffs(
          run.dir,
          await readRecordedRun(join(ROOT, "lib/tiers/testdata/run_contract_test.json")),
        )
        : [];
      for (const d of diffs) console.log(`  contract: ${d}`);
      // `./servelab run --size test` as a user runs it, output to a pipe (tools/cli/run_pipe_test.ts).
      const whole = await exec(deno, ["test", "-A", ...RUN_TESTS]);
      return one(
        r.code || (diffs.length ? 1 : 0) || (whole.code ? 1 : 0),
        (s ? `${s.passed} of ${notebooks.length} notebooks passed -> ${run.dir}` : `-> ${run.dir}`) +
          (diffs.length ? `; ${diffs.length} difference(s) from the recorded run contract` : "") +
          `; ./servelab run to a pipe: ${whole.code ? "FAILED" : "ok"}`,
      );
    }
    case "browser": {
      const env: Record<string, string> = notebooksRunDir
        ? {
          SERVELAB_BROWSER_RUN_DIR: notebooksRunDir,
          SERVELAB_BROWSER_ARTIFACTS: join(notebooksRunDir, "browser"),
        }
        : { SERVELAB_BROWSER_ARTIFACTS: join(ROOT, "reports", `browser-${stamp()}`) };
      const r = await exec(deno, ["test", "-A", BROWSER_TESTS], env);
      const counts = parseDenoTestSummary(r.output);
      if (!counts) return one(r.code, "no summary line from deno test");
      const passed = counts.passed + (counts.steps ?? 0);
      const failed = r.code !== 0 && counts.failed === 0 ? 1 : counts.failed;
      return {
        step,
        passed,
        failed,
        note: `${counts.passed} tests (${
          counts.steps ?? 0
        } steps) passed, ${counts.failed} failed; screenshots in ${env.SERVELAB_BROWSER_ARTIFACTS}`,
      };
    }
    case "real":
      return await realStep();
    default: {
      const never: never = step;
      throw new Error(`Unknown step ${never}`);
    }
  }
}

/** The `real` step: install the real engines, then their tests one file at a time. */
async function realStep(): Promise<Omit<StepResult, "seconds">> {
  const tests = await realTests();
  if (tests.length === 0) return { step: "real", passed: 1, failed: 0, note: "no *_real_test.ts files" };
  const env: Record<string, string> = {};
  const notes: string[] = [];
  const install = async (label: string, script: string, envVar: string) => {
    const t0 = performance.now();
    const r = await exec("bash", [script]);
    // The script prints the command's path on stdout; its progress (stderr) may interleave in `output`.
    const path =
      r.output.split("\n").map((l) => l.trim()).reverse().find((l) => l.startsWith("/") && existsFile(l)) ??
        "";
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    if (r.code !== 0 || !path.startsWith("/")) {
      throw new Error(`${script} failed (exit ${r.code}); see above`);
    }
    env[envVar] = path;
    notes.push(`${label} ready in ${s} s`);
  };
  await install("llama.cpp", "tools/real/llamacpp_install.sh", "SERVELAB_LLAMA_SERVER");
  if (
    tests.some((t) => /vllm[^/]*_real_test\.ts$/.test(t)) && existsFile("tools/real/vllm_cpu_install.sh")
  ) {
    await install("vLLM CPU", "tools/real/vllm_cpu_install.sh", "SERVELAB_VLLM_BIN");
  }
  let passed = 0, failed = 0, steps = 0;
  for (const file of tests) {
    const r = await exec(Deno.execPath(), ["test", "-A", file], env);
    const counts = parseDenoTestSummary(r.output);
    passed += counts?.passed ?? 0;
    steps += counts?.steps ?? 0;
    failed += r.code !== 0 && !counts?.failed ? 1 : counts?.failed ?? 0;
  }
  notes.push(`${passed} tests (${steps} steps) passed, ${failed} failed in ${tests.length} file(s)`);
  return { step: "real", passed: passed + steps, failed, note: notes.join("; ") };
}

function existsFile(path: string): boolean {
  try {
    return Deno.statSync(path.startsWith("/") ? path : join(ROOT, path)).isFile;
  } catch {
    return false;
  }
}

/** Timing-fidelity tests (`fidelity_test.ts`, `*_fidelity_test.ts`) under lib/, tools/ and bench/. */
export async function fidelityTests(root = ROOT): Promise<string[]> {
  return (await testFiles(root)).filter((f) => /(^|\/|_)fidelity_test\.ts$/.test(f));
}

/** Every `*_test.ts` under lib/, tools/ and bench/ (root-relative, sorted), outside dot folders and testdata. */
export async function testFiles(root = ROOT): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const skip = e.name.startsWith(".") || e.name === "node_modules" || e.name === "testdata";
      if (e.isDirectory && !skip) await walk(path);
      else if (e.isFile && e.name.endsWith("_test.ts")) found.push(path.slice(root.length + 1));
    }
  };
  for (const d of existing(["lib", "tools", "bench"])) await walk(join(root, d));
  return found.sort();
}

/**
 * The `test` step's files: every test file but the fidelity, browser and real-engine ones, which have
 * steps of their own. An explicit list, because `deno test --ignore=...` beside directory arguments did
 * not leave tools/browser/ and tools/real/ out on Deno 2.9.6 (seen in CI).
 */
export async function unitTestFiles(root = ROOT): Promise<string[]> {
  const leave = new Set([...await fidelityTests(root), ...await realTests(root)]);
  return (await testFiles(root)).filter((f) =>
    !leave.has(f) && !f.startsWith(BROWSER_TESTS) && !RUN_TESTS.includes(f)
  );
}

/** Runs the gate; returns the exit code. */
/** `./servelab test --help`. */
export const OK_USAGE = `Usage: ./servelab test [--only step,...] [--skip step,...] [--no-notebooks] [--real]
       (or: deno task ok ...)

The whole test suite, one step after another, ending with one line "N passed, N failed".
Steps: ${STEPS.join(", ")} (opt-in: real).
  --only STEPS     run only these steps, e.g. --only test
  --skip STEPS     leave these steps out, e.g. --skip notebooks,browser
  --no-notebooks   skip the notebooks and browser steps
  --real           also the real-engine step (installs llama.cpp's server)`;

export async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(OK_USAGE);
    return 0;
  }
  let parsed: OkArgs;
  try {
    parsed = parseOkArgs(args);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const results: StepResult[] = [];
  for (const step of parsed.steps) {
    console.log(`\n== ${step}`);
    const t0 = performance.now();
    let r: Omit<StepResult, "seconds">;
    try {
      r = await runStep(step);
    } catch (err) {
      console.error(`  ${step}: ${(err as Error).stack ?? err}`);
      r = { step, passed: 0, failed: 1, note: `crashed: ${(err as Error).message}` };
    }
    const seconds = (performance.now() - t0) / 1000;
    results.push({ ...r, seconds });
    console.log(
      `-- ${step}: ${r.failed ? "FAILED" : "ok"} (${seconds.toFixed(1)} s)${r.note ? ` ${r.note}` : ""}`,
    );
  }
  console.log("\nsummary:");
  for (const r of results) {
    console.log(
      `  ${r.step.padEnd(10)} ${(r.failed ? "FAILED" : "ok").padEnd(7)} ${
        r.seconds.toFixed(1).padStart(6)
      } s  ${r.note}`
        .trimEnd(),
    );
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
