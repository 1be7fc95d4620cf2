/**
 * `./servelab run`'s live progress: it polls the run's `progress.json` (written by lib/run's `runPoints`
 * inside the notebook's kernel; docs/adr/0018-live-progress.md) and shows the notebook k of n, the tier,
 * point i of n, its parameters, the time spent and an estimate of the rest. On a terminal one status line
 * is redrawn in place under the runner's own lines; when output is not a terminal, or NO_COLOR is set, it
 * prints plain lines (no escape codes) when the point changes, and a line every `heartbeatS` otherwise.
 * @module
 */
import { basename } from "node:path";
import { durationText, progressLine, type ProgressState, readProgress } from "../lib/run/mod.ts";

/** Escape sequences (CSI and OSC) a tool may print; stripped from plain output. */
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g;

/** Text without terminal escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/** Whether progress is drawn in place: output is a terminal and NO_COLOR is not set. */
export function wantsTerminal(
  isTerminal: boolean = Deno.stdout.isTerminal(),
  env: (k: string) => string | undefined = (k) => Deno.env.get(k),
): boolean {
  const noColor = env("NO_COLOR");
  return isTerminal && !(noColor !== undefined && noColor !== "");
}

/** Lines of the runner's output that users should not see (the tools' noise, not the lab's). */
const NOISE = [/"deno jupyter" is unstable/];

/** Options for {@link liveProgress}. */
export interface LiveProgressOptions {
  runDir: string;
  /** The notebooks of the run, in order (their names show as "notebook k/n"). */
  notebooks: readonly string[];
  /** Draw in place (true) or print plain lines. Default: {@link wantsTerminal}. */
  terminal?: boolean;
  /** Writes text as is. Default: stdout. */
  write?: (text: string) => void;
  /** Poll interval, ms. Default 500. */
  pollMs?: number;
  /** Plain mode: a line at least this often while one point runs. Default 30. */
  heartbeatS?: number;
  /** Terminal width for the status line. Default: the console's, else 100. */
  columns?: () => number;
  /** Monotonic clock, ms. */
  now?: () => number;
}

/** A running live display: pass the runner's lines through `line`, then `stop()`. */
export interface LiveProgress {
  /** A line the runner printed: shown above the status line (escape codes stripped in plain mode). */
  line(text: string): void;
  /** Polls once now (tests); resolves when drawn. */
  tick(): Promise<void>;
  stop(): Promise<void>;
  /** Plain lines printed so far (tests and the run's summary). */
  readonly printed: number;
}

/**
 * Starts the live display of a run.
 *
 * @example
 * ```ts
 * const live = liveProgress({ runDir: run.dir, notebooks });
 * await runNotebooks(notebooks, { out: run.dir, onLine: (l) => live.line(l) });
 * await live.stop();
 * ```
 */
export function liveProgress(options: LiveProgressOptions): LiveProgress {
  const enc = new TextEncoder();
  const write = options.write ?? ((t: string) => Deno.stdout.writeSync(enc.encode(t)));
  const terminal = options.terminal ?? wantsTerminal();
  const now = options.now ?? (() => performance.now());
  const heartbeatMs = (options.heartbeatS ?? 30) * 1000;
  const columns = options.columns ?? (() => {
    try {
      return Deno.consoleSize().columns;
    } catch {
      return 100;
    }
  });
  const t0 = now();
  const n = options.notebooks.length;
  let nbDone = 0;
  let status = "";
  let shown = false;
  let lastKey = "";
  let lastPrint = -Infinity;
  let printed = 0;
  let state: ProgressState | undefined;
  let stopped = false;

  const nbText = () =>
    nbDone < n
      ? `notebook ${nbDone + 1}/${n} ${basename(options.notebooks[nbDone]).replace(/\.ipynb$/, "")}`
      : "";
  const clear = () => {
    if (terminal && shown) write("\r\x1b[2K");
    shown = false;
  };
  const draw = () => {
    if (!terminal || stopped) return;
    const run = `run ${durationText((now() - t0) / 1000)}`;
    const text = [nbText(), status, run].filter(Boolean).join(" | ");
    const w = Math.max(20, columns() - 1);
    write(`\r\x1b[2K${text.length > w ? text.slice(0, w - 1) + "…" : text}`);
    shown = true;
  };
  const plain = (text: string) => {
    write(`${text}\n`);
    printed++;
  };
  const tick = async () => {
    const p = await readProgress(options.runDir);
    if (stopped) return;
    if (p && p !== state) {
      state = p;
      status = progressLine(p);
    }
    if (terminal) {
      draw();
      return;
    }
    if (!state) return;
    const key = `${state.tier}|${state.i}|${state.state}|${state.started_at}`;
    const t = now();
    if (key !== lastKey || t - lastPrint >= heartbeatMs) {
      const still = key === lastKey ? " (still running)" : "";
      plain(`  progress: ${[nbText(), status].filter(Boolean).join(" | ")}${still}`);
      lastKey = key;
      lastPrint = t;
    }
  };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick().finally(() => busy = false);
  }, options.pollMs ?? 500);

  return {
    get printed() {
      return printed;
    },
    line(text: string) {
      if (NOISE.some((r) => r.test(text))) return;
      const clean = terminal ? text : stripAnsi(text);
      clear();
      write(`${clean}\n`);
      // The runner prints one line per notebook when it ends.
      if (/: (ok|FAILED)\b/.test(stripAnsi(text)) && /\.ipynb: /.test(text)) nbDone++;
      draw();
    },
    tick,
    async stop() {
      clearInterval(timer);
      while (busy) await new Promise((r) => setTimeout(r, 10));
      clear();
      stopped = true;
    },
  };
}
