/**
 * One lab per run folder: `<run>/.lock` holds the owner's PID, written with create-new (atomic: of two
 * labs starting together exactly one creates it). A lock whose PID is no longer alive is stale (its lab
 * died, e.g. SIGKILL) and is taken over. The same test tells a run left at `running` by a dead lab (the
 * lock's PID, else the manifest's `lab_pid`, the process that created the run): {@link markDeadRuns}
 * turns those into `interrupted`, with the `--resume` hint.
 * @module
 */
import { join } from "node:path";
import { pidAlive } from "../engine/process_group.ts";
import { readManifest, updateManifest } from "./manifest.ts";

/** The lock file's name inside a run folder. */
export const LOCK_FILE = ".lock";

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  started_at: string;
}

/** A run folder's lock, held by this process until released. */
export interface RunLock extends Disposable {
  readonly path: string;
  /** The PID of a dead owner whose stale lock was taken over, if any. */
  readonly recovered_from?: number;
  release(): void;
}

/**
 * The lock's owner, if a lock file exists and names a PID.
 *
 * @example
 * ```ts
 * readLock("reports/20261208-000000-sim-1a2b")?.pid;
 * ```
 */
export function readLock(dir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(Deno.readTextFileSync(join(dir, LOCK_FILE)));
    return Number.isInteger(info?.pid) ? info as LockInfo : { pid: 0, started_at: "" };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    return { pid: 0, started_at: "" }; // unreadable or torn: no live owner can be shown
  }
}

/**
 * Takes `<dir>/.lock` for this process; throws, naming the owner's PID, when a live process holds it.
 * A stale lock (owner dead) is replaced. Release it (or `using` it) when the run ends.
 *
 * @example
 * ```ts
 * using lock = acquireRunLock(run.dir);
 * ```
 */
export function acquireRunLock(dir: string, pid: number = Deno.pid): RunLock {
  const path = join(dir, LOCK_FILE);
  let recovered_from: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const f = Deno.openSync(path, { write: true, createNew: true });
      try {
        f.writeSync(new TextEncoder().encode(JSON.stringify({ pid, started_at: new Date().toISOString() })));
      } finally {
        f.close();
      }
      let released = false;
      const lock: RunLock = {
        path,
        recovered_from,
        release() {
          if (released) return;
          released = true;
          if (readLock(dir)?.pid === pid) Deno.removeSync(path);
        },
        [Symbol.dispose]() {
          lock.release();
        },
      };
      return lock;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const owner = readLock(dir);
    if (owner && owner.pid > 0 && owner.pid !== pid && pidAlive(owner.pid)) {
      throw new Error(
        `Run ${dir} is in use by another lab (pid ${owner.pid}, since ${owner.started_at}). Wait for it to ` +
          `finish, or stop it (kill ${owner.pid}); two labs on one run would measure the same points twice.`,
      );
    }
    recovered_from = owner?.pid;
    try {
      Deno.removeSync(path); // stale: its owner is gone
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  throw new Error(`Cannot lock run ${dir}: ${path} keeps reappearing; another lab is starting on it.`);
}

/**
 * Marks every run under `root` that says `running` but has no live lab (no lock, or a lock whose PID is
 * dead) as `interrupted`, with the reason and the `--resume` hint. Returns the run ids it changed.
 *
 * @example
 * ```ts
 * await markDeadRuns("reports"); // ["20261208-000000-sim-1a2b"]
 * ```
 */
export async function markDeadRuns(root: string): Promise<string[]> {
  const changed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch {
    return changed;
  }
  for (const e of entries) {
    if (!e.isDirectory) continue;
    const dir = join(root, e.name);
    const manifestPath = join(dir, "manifest.json");
    let m: Awaited<ReturnType<typeof readManifest>>;
    try {
      m = await readManifest(manifestPath);
    } catch {
      continue; // not a run folder, or a manifest another tool will report
    }
    if (m.status !== "running") continue;
    // The lab's PID: the lock's owner, else the process that created the run (manifest lab_pid).
    const pid = readLock(dir)?.pid || (Number.isInteger(m.lab_pid) ? m.lab_pid as number : 0);
    if (pid <= 0 || pidAlive(pid)) continue; // no way to tell, or alive: leave it
    const who = `its lab (pid ${pid})`;
    await updateManifest(manifestPath, (m) =>
      m.status !== "running" ? m : {
        ...m,
        status: "interrupted",
        ended_at: m.ended_at ?? new Date().toISOString(),
        error: `${who} died without finishing it; rerun with --resume ${e.name}`,
      });
    try {
      Deno.removeSync(join(dir, LOCK_FILE));
    } catch { /* none */ }
    changed.push(e.name);
  }
  return changed.sort();
}
