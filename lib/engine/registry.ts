/**
 * The module-level registry of live engines the lab started, and the one SIGINT/SIGTERM/SIGHUP listener
 * that stops them all before the process exits (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, and 129
 * when the process's parent dies: a kernel whose runner was killed).
 *
 * Engines run in their own session (see process_group.ts), so a terminal's Ctrl-C reaches only the lab.
 * The listeners are installed while at least one engine is alive and removed with the last one, so the
 * default signal behaviour returns once nothing needs cleaning up. A second signal while stopping sends
 * SIGKILL to every group and exits at once. On a normal exit (`unload`, e.g. `Deno.exit()` without
 * disposing) each live group gets a best-effort SIGTERM, since nothing can be awaited there.
 * @module
 */
import { signalGroup, watchParent } from "./process_group.ts";

/** What the registry needs from a live engine. */
export interface LiveEngine {
  /** Process-group id (the leader's pid). */
  readonly pid?: number;
  stop(): Promise<void>;
}

const live = new Set<LiveEngine>();
let stopping = false;

const onSigint = () => void shutdown(130);
const onSigterm = () => void shutdown(143);
const onSighup = () => void shutdown(129);
let unwatchParent: (() => void) | undefined;
const onUnload = () => {
  for (const e of live) if (e.pid !== undefined) signalGroup(e.pid, "SIGTERM");
};

/** Adds a live engine; installs the signal listeners with the first one. */
export function register(engine: LiveEngine): void {
  if (live.size === 0) {
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
    Deno.addSignalListener("SIGHUP", onSighup);
    globalThis.addEventListener("unload", onUnload);
    // A parent killed with SIGKILL (the runner, the lab) sends no signal: watch for it instead.
    unwatchParent = watchParent(() => void shutdown(129));
  }
  live.add(engine);
}

/** Removes an engine; removes the listeners with the last one. */
export function unregister(engine: LiveEngine): void {
  if (!live.delete(engine) || live.size > 0 || stopping) return;
  Deno.removeSignalListener("SIGINT", onSigint);
  Deno.removeSignalListener("SIGTERM", onSigterm);
  Deno.removeSignalListener("SIGHUP", onSighup);
  globalThis.removeEventListener("unload", onUnload);
  unwatchParent?.();
  unwatchParent = undefined;
}

/** How many engines are alive (for tests and progress displays). */
export function liveEngineCount(): number {
  return live.size;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) {
    // Second signal: do not wait for graceful shutdown any longer.
    for (const e of live) if (e.pid !== undefined) signalGroup(e.pid, "SIGKILL");
    Deno.exit(code);
  }
  stopping = true;
  console.error(`servelab: signal received, stopping ${live.size} engine(s) before exiting`);
  await Promise.allSettled([...live].map((e) => e.stop()));
  Deno.exit(code);
}
