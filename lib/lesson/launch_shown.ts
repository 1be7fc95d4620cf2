/**
 * The engine launch, shown step by step for a lesson: the exact `vllm serve` argv (the embedded engine takes
 * the same flags), the command that really runs, then the startup phases as the engine's log is parsed,
 * updated in place while the engine starts, and the KV pool it reports once ready.
 * @module
 */
import { buildServeArgs } from "../engine/argv.ts";
import { engineArgv, freePort, launch, type LaunchOptions } from "../engine/launch.ts";
import { StartupLogParser } from "../engine/startup_log.ts";
import type { ServeConfig } from "../engine/config.ts";
import type { Engine, StartupReport } from "../engine/types.ts";
import { escapeHtml } from "../report/bundle.ts";
import { jupyter, show } from "../report/display.ts";
import { md } from "../report/markdown.ts";

/** The `vllm serve` command line of a config, quoted for a shell where needed. */
export function serveCommand(cfg: ServeConfig): string {
  return ["vllm", "serve", ...buildServeArgs(cfg)].map(shellQuote).join(" ");
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The startup phases a (partial) report holds, as text lines, e.g. "weights_load  1.23 s (log)". */
export function phaseLines(r: StartupReport): string[] {
  const lines = r.phases.map((p) => `${p.name.padEnd(18)} ${p.seconds.toFixed(2)} s (${p.source})`);
  if (r.kv_cache_tokens !== undefined) lines.push(`KV cache           ${r.kv_cache_tokens} tokens`);
  if (r.max_concurrency !== undefined) {
    lines.push(`max concurrency    ${r.max_concurrency}x for ${r.max_concurrency_len ?? "?"}-token requests`);
  }
  return lines;
}

function bundle(cmd: string, ran: string | undefined, r: StartupReport, state: string) {
  const phases = phaseLines(r);
  const note = r.simulated
    ? `SIMULATED durations (the embedded engine's log; its wait is compressed ${
      r.startup_time_scale ?? "?"
    }x)`
    : "durations from the engine's log";
  const text = [
    `$ ${cmd}`,
    ...(ran ? [`(runs: ${ran})`] : []),
    `${state}: startup phases parsed from the log as it arrives (${note}):`,
    ...(phases.length ? phases : ["(none yet)"]),
  ].join("\n");
  return { "text/plain": text, "text/html": `<pre>${escapeHtml(text)}</pre>` };
}

/**
 * Launches the engine `cfg` describes (a free loopback port when its port is 0), showing the `vllm serve`
 * argv first and the startup phases as they are parsed from the log; returns the ready engine (dispose it).
 * Outside a notebook it prints the same text at the end.
 *
 * @example
 * ```ts
 * await using engine = await launchShown(serveConfigFor(lab));
 * ```
 */
export async function launchShown(cfg: ServeConfig, opts: LaunchOptions = {}): Promise<Engine> {
  const resolved: ServeConfig = cfg.engine !== "external" && cfg.port === 0
    ? { ...cfg, port: await freePort() }
    : cfg;
  const cmd = cfg.engine === "external"
    ? `(external engine at ${cfg.url}: nothing to launch)`
    : serveCommand(resolved);
  const ran = resolved.engine === "external"
    ? undefined
    : engineArgv(resolved, opts).map(shellQuote).join(" ");
  const parser = new StartupLogParser();
  const j = jupyter();
  const id = `servelab-launch-${crypto.randomUUID()}`;
  let shown = false;
  let pending: Promise<unknown> = Promise.resolve();
  let last = 0;
  const draw = (state: string, force = false) => {
    if (!j) return;
    const now = performance.now();
    if (!force && now - last < 250) return;
    last = now;
    const b = bundle(cmd, ran, parser.report(), state);
    const update = shown;
    shown = true;
    pending = pending.then(() => j.display(b, { raw: true, display_id: id, update })).catch(() => {});
  };
  draw("Starting", true);
  const engine = await launch(resolved, {
    ...opts,
    on_log_line: (line) => {
      parser.feed(line);
      opts.on_log_line?.(line);
      draw("Starting");
    },
  });
  const report = engine.startup ?? parser.report();
  const ready = engine.ready_s !== undefined
    ? `Ready after ${engine.ready_s.toFixed(2)} s (spawn to /health 200, this machine's wall clock)`
    : "Ready (an external engine: its startup is not measured)";
  const final = bundle(cmd, ran, report, ready);
  if (j) {
    await pending;
    await j.display(final, { raw: true, display_id: id, update: shown });
    // A display update can lose the race with the kernel's idle message (reference/deno-notebooks.md §1a), so
    // the ready state is also shown as an output of its own, through show().
    await show(
      md`**${ready}.** KV cache ${String(report.kv_cache_tokens ?? "not reported")} tokens${
        report.max_concurrency !== undefined
          ? `; max concurrency ${report.max_concurrency}x for ${
            report.max_concurrency_len ?? "?"
          }-token requests`
          : ""
      }. Engine at ${engine.baseUrl}.`,
    );
  } else {
    console.log(final["text/plain"]);
  }
  return engine;
}
