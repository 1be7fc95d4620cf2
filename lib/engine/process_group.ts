/**
 * Process groups: spawn a command as the leader of its own group (and session), see which members of the
 * group are still alive, and stop the whole group with TERM, then KILL after a grace period.
 *
 * `Deno.Command({ detached: true })` calls `setsid()` in the child on Unix, so the child's pid is also
 * its process-group id and everything it forks (vLLM's EngineCore and workers) shares that group unless
 * it creates its own. A terminal's Ctrl-C no longer reaches the group, which is why the lab stops it
 * itself (see registry.ts and docs/adr/0002-process-lifecycle.md).
 * @module
 */

/** Options of {@link spawnGroup}: what `Deno.Command` takes besides the stdio and `detached`. */
export interface SpawnGroupOptions {
  args?: string[];
  /** Added to the lab's environment; a value `undefined` removes that variable from the child's. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Spawns `command` as the leader of a new process group and session (`detached: true`: setsid()), stdin
 * closed and stdout/stderr piped for the caller to read, so that {@link stopGroup} reaches everything it
 * starts. Throws as `Deno.Command#spawn` does when the command cannot run.
 *
 * @example
 * ```ts
 * const child = spawnGroup("vllm", { args: ["serve", "m"] });
 * await stopGroup(child.pid, { grace_ms: 3_000, leaderExited: child.status });
 * ```
 */
export function spawnGroup(command: string, opts: SpawnGroupOptions = {}): Deno.ChildProcess {
  const given = opts.env ?? {};
  const unset = Object.keys(given).filter((k) => given[k] === undefined);
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const env = unset.length ? { ...withoutKeys(Deno.env.toObject(), unset), ...set } : set;
  return new Deno.Command(command, {
    ...opts,
    env,
    clearEnv: unset.length > 0,
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

function withoutKeys(env: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !keys.includes(k)));
}

/**
 * Calls `onDeath` once when this process's parent dies (Deno.ppid changes: the orphan is re-parented to
 * init or a subreaper). A lab process that the lab's runner started (a kernel, an engine) uses it so it
 * does not outlive a parent killed with SIGKILL, which no handler sees. The poll does not keep the
 * process alive. Returns a function that stops watching.
 *
 * @example
 * ```ts
 * const stop = watchParent(() => Deno.exit(129));
 * ```
 */
export function watchParent(onDeath: () => void, interval_ms = 500): () => void {
  const parent = Deno.ppid;
  if (parent <= 1) return () => {}; // started by init: no parent to lose
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    onDeath();
  }, interval_ms);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}

/** True when `pid` exists and is not a zombie (a zombie has exited; only its exit status remains). */
export function pidAlive(pid: number): boolean {
  const st = readStat(pid);
  return st !== undefined && st.state !== "Z";
}

/**
 * Live (non-zombie) members of process group `pgid`, read from /proc. Off Linux (no /proc) it returns
 * `[pgid]` while `fallbackAlive` says the leader runs, else `[]`.
 *
 * @example
 * ```ts
 * groupMembers(engine.pid!); // [4120, 4188, 4190] while vLLM runs, [] after stop()
 * ```
 */
export function groupMembers(pgid: number, fallbackAlive = false): number[] {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return fallbackAlive ? [pgid] : [];
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    const st = readStat(Number(e.name));
    if (st && st.pgrp === pgid && st.state !== "Z") out.push(Number(e.name));
  }
  return out;
}

/** Sends `signal` to every process of group `pgid`. Returns false when the group no longer exists. */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nobody left in the group (EPERM cannot happen for our own children)
  }
}

/** Options of {@link stopGroup}. */
export interface StopGroupOptions {
  /** How long members get to exit after SIGTERM before SIGKILL. */
  grace_ms: number;
  /** Resolves when the leader exits (the child's `status`); lets a dead leader be noticed without /proc. */
  leaderExited?: Promise<unknown>;
  /** Poll interval for group membership, default 50 ms. */
  poll_ms?: number;
}

/** What {@link stopGroup} had to do. */
export interface StopGroupResult {
  /** SIGKILL was needed (something ignored or outlived SIGTERM for grace_ms). */
  killed: boolean;
  /** Pids still alive after SIGKILL and a further wait (should be empty; a process stuck in D state). */
  survivors: number[];
}

/**
 * Stops a whole process group: SIGTERM to the group, wait up to `grace_ms` for every member to exit, then
 * SIGKILL to the group and wait again (up to 5 s) for the kernel to tear the processes down.
 *
 * @example
 * ```ts
 * const { killed } = await stopGroup(child.pid, { grace_ms: 3_000, leaderExited: child.status });
 * ```
 */
export async function stopGroup(pgid: number, opts: StopGroupOptions): Promise<StopGroupResult> {
  const poll = opts.poll_ms ?? 50;
  let leaderDone = false;
  opts.leaderExited?.then(() => leaderDone = true, () => leaderDone = true);
  const members = () => groupMembers(pgid, !leaderDone);
  if (members().length === 0) return { killed: false, survivors: [] };
  signalGroup(pgid, "SIGTERM");
  if (await waitEmpty(members, opts.grace_ms, poll)) return { killed: false, survivors: [] };
  signalGroup(pgid, "SIGKILL");
  await waitEmpty(members, 5_000, poll);
  return { killed: true, survivors: members() };
}

async function waitEmpty(members: () => number[], ms: number, poll: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (members().length > 0) {
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, poll));
  }
  return true;
}

interface Stat {
  state: string;
  ppid: number;
  pgrp: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses, so split after the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0], ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}
