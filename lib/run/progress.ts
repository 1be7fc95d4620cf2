/**
 * Progress while a run goes: in a notebook, one output updated in place (a display_id); in a terminal,
 * one line rewritten with \r; in a log (stderr not a terminal), a line every few seconds and at the end.
 * @module
 */
import { escapeHtml } from "../base/escape_html.ts";
import { flush, jupyter } from "../base/jupyter.ts";

/** A progress handle. Call `update` as work finishes and `done` at the end. */
export interface Progress {
  /** Sets the count of finished items (and an optional note, e.g. the current point). */
  update(done: number, note?: string): Promise<void>;
  /** Marks the work finished and writes the final state. */
  done(note?: string): Promise<void>;
  /** The current text, e.g. "ttft points: 3/10 (30%) c=4". */
  readonly text: string;
}

/** Options for {@link progress}. */
export interface ProgressOptions {
  /** Number of items; without it only the count is shown. */
  total?: number;
  /** Minimum milliseconds between redraws (the final state is always drawn). Default 200 (terminal), 5000 (log). */
  intervalMs?: number;
  /** Where terminal text goes. Default: stderr. */
  write?: (text: string) => void;
  /** Treat the output as a terminal (\r updates). Default: whether stderr is a terminal. */
  terminal?: boolean;
}

/** The progress line for a state. */
export function progressText(label: string, done: number, total?: number, note?: string): string {
  const pct = total ? ` (${Math.floor((100 * done) / total)}%)` : "";
  return `${label}: ${done}${total !== undefined ? `/${total}` : ""}${pct}${note ? ` ${note}` : ""}`;
}

/**
 * Starts a progress display.
 *
 * @example
 * ```ts
 * const p = progress("ttft points", { total: points.length });
 * for (const [i, pt] of points.entries()) { await measure(pt); await p.update(i + 1, pt.id); }
 * await p.done();
 * ```
 */
export function progress(label: string, options: ProgressOptions = {}): Progress {
  const { total } = options;
  const j = jupyter();
  const enc = new TextEncoder();
  const write = options.write ?? ((t: string) => Deno.stderr.writeSync(enc.encode(t)));
  let terminal = options.terminal;
  if (terminal === undefined) {
    try {
      terminal = Deno.stderr.isTerminal();
    } catch {
      terminal = false;
    }
  }
  const intervalMs = options.intervalMs ?? (j || terminal ? 200 : 5000);
  const displayId = `servelab-progress-${crypto.randomUUID()}`;
  let count = 0;
  let note: string | undefined;
  let shown = false;
  let last = -Infinity;
  let lastLen = 0;
  let finished = false;

  const text = () => progressText(label, count, total, note);
  const draw = async (final: boolean) => {
    const t = text();
    if (j) {
      const bar = total ? `<progress value="${count}" max="${total}"></progress> ` : "";
      const bundle = { "text/plain": t, "text/html": `<div>${bar}${escapeHtml(t)}</div>` };
      await j.display(bundle, { raw: true, display_id: displayId, update: shown });
      shown = true;
      if (final) await flush();
    } else if (terminal) {
      write(`\r${t.padEnd(lastLen)}${final ? "\n" : ""}`);
      lastLen = t.length;
    } else {
      write(`${t}\n`);
    }
  };

  return {
    get text() {
      return text();
    },
    async update(done: number, n?: string) {
      if (finished) return;
      count = done;
      note = n;
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
      await draw(false);
    },
    async done(n?: string) {
      if (finished) return;
      finished = true;
      if (n !== undefined) note = n;
      if (total !== undefined && count < total && n === undefined) note = "stopped";
      await draw(true);
    },
  };
}
