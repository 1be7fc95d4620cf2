/**
 * A throwaway JupyterLab for the browser tests, as `./servelab lab` starts it (the project venv's
 * `jupyter lab`, 127.0.0.1, no browser, the Deno kernelspec) but on a random port with a random token, a
 * temporary root folder and its own Jupyter config, data and runtime folders, so nothing the test does
 * touches the project's notebooks or the user's Jupyter settings.
 *
 * The root holds a copy of the notebooks asked for under notebooks/, beside symlinks to the rest of the
 * project (lib/, data/, deno.json, node_modules/, ...), so a notebook's `../lib/mod.ts`, its bare imports
 * and the engines it launches find their files as in the project. Stopping asks the server to shut down (it stops its kernels), then kills the
 * server's process group and every process it started (kernels run in their own sessions).
 * @module
 */
import { basename, join } from "node:path";
import { groupMembers, pidAlive, signalGroup, spawnGroup } from "../../lib/engine/mod.ts";
import { jupyterEnv, ROOT } from "../_jupyter.ts";

/** A running JupyterLab; disposing it stops the server, its kernels, and removes its folder. */
export interface JupyterLab extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly token: string;
  /** The server's root folder (temporary). */
  readonly root: string;
  /** Server pid (leader of its process group). */
  readonly pid: number;
  /** URL of a notebook in the Lab UI, token included. */
  notebookUrl(name: string): string;
  /** What the server printed so far (stdout and stderr). */
  log(): string;
  /** Pids of every process the server started so far (kernels), read from /proc. */
  descendants(): number[];
  /** Stops everything; returns the pids still alive afterwards (should be none). */
  stop(): Promise<number[]>;
}

/** Options of {@link startJupyterLab}. */
export interface StartJupyterLabOptions {
  /** Notebooks (paths) copied into `<root>/notebooks/`. */
  notebooks: string[];
  /** Extra environment for the server and its kernels (SERVELAB_* parameters). */
  env?: Record<string, string>;
  /** Milliseconds to wait for the server to answer. Default 60_000. */
  ready_timeout_ms?: number;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // pid (comm) state ppid ...; comm may hold spaces and parentheses: split after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Every live descendant of `pid` (children, their children, ...), from /proc. */
export function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const ppid = parentOf(Number(e.name));
    if (ppid !== undefined) parents.set(Number(e.name), ppid);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === p && pidAlive(child)) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts JupyterLab on a copy of `notebooks` and waits until it answers.
 *
 * @example
 * ```ts
 * await using lab = await startJupyterLab({ notebooks: ["notebooks/01_ttft.ipynb"] });
 * await page.goto(lab.notebookUrl("01_ttft.ipynb"));
 * ```
 */
export async function startJupyterLab(opts: StartJupyterLabOptions): Promise<JupyterLab> {
  // The port is picked free, then handed to jupyter: another process may take it in between. Retry then.
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/already in use|Errno 98/i.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(opts: StartJupyterLabOptions): Promise<JupyterLab> {
  const root = await Deno.makeTempDir({ prefix: "servelab-lab-" });
  const home = await Deno.makeTempDir({ prefix: "servelab-lab-home-" });
  await Deno.mkdir(join(root, "notebooks"));
  for (const nb of opts.notebooks) await Deno.copyFile(nb, join(root, "notebooks", basename(nb)));
  // Everything else of the project by symlink (lib/, data/, deno.json, node_modules/, ...): notebooks and
  // the engines they launch find their files relative to the project root.
  for await (const e of Deno.readDir(ROOT)) {
    if (["notebooks", "reports", ".git"].includes(e.name)) continue;
    await Deno.symlink(join(ROOT, e.name), join(root, e.name));
  }
  // No news toast over the notebook, no update check: the lab makes no call home.
  const settings = join(home, "settings", "@jupyterlab", "apputils-extension");
  await Deno.mkdir(settings, { recursive: true });
  await Deno.writeTextFile(
    join(settings, "notification.jupyterlab-settings"),
    JSON.stringify({ fetchNews: "false", checkForUpdates: false }),
  );
  const port = freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const jupyter = join(ROOT, ".servelab", "venv", "bin", "jupyter");
  const args = [
    "lab",
    "--no-browser",
    "--ip=127.0.0.1",
    `--port=${port}`,
    "--ServerApp.port_retries=0",
    `--ServerApp.root_dir=${root}`,
    `--IdentityProvider.token=${token}`,
    // No calls home: no update check, no news feed.
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.news_url=",
    `--LabApp.user_settings_dir=${join(home, "settings")}`,
    `--LabApp.workspaces_dir=${join(home, "workspaces")}`,
  ];
  if (Deno.uid() === 0) args.push("--allow-root");
  // Its own process group, killed as a whole.
  const child = spawnGroup(jupyter, {
    args,
    cwd: root,
    env: {
      ...jupyterEnv(opts.env),
      JUPYTER_CONFIG_DIR: join(home, "config"),
      JUPYTER_RUNTIME_DIR: join(home, "runtime"),
      JUPYTER_DATA_DIR: join(home, "data"),
      JUPYTER_PLATFORM_DIRS: "1",
    },
  });
  const log: string[] = [];
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of s) log.push(dec.decode(chunk, { stream: true }));
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {});
  let exited = false;
  child.status.then(() => exited = true);
  const url = `http://127.0.0.1:${port}`;
  const known = new Set<number>();
  const descendants = () => {
    for (const p of descendantsOf(child.pid)) known.add(p);
    return [...known].filter(pidAlive);
  };

  let stopped: number[] | undefined;
  const stop = async (): Promise<number[]> => {
    if (stopped) return stopped;
    descendants();
    if (!exited) {
      await fetch(`${url}/api/shutdown`, { method: "POST", headers: { authorization: `token ${token}` } })
        .then((r) => r.body?.cancel()).catch(() => {});
      for (let i = 0; i < 100 && !exited; i++) await sleep(50);
    }
    const groups = new Set([child.pid, ...known]);
    for (const g of groups) signalGroup(g, "SIGTERM");
    for (let i = 0; i < 40 && [...groups].some((g) => groupMembers(g).length > 0); i++) await sleep(50);
    for (const g of groups) signalGroup(g, "SIGKILL");
    for (const p of known) {
      try {
        Deno.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
    await child.status;
    await pumped;
    for (let i = 0; i < 40 && [...known].some(pidAlive); i++) await sleep(50);
    stopped = [...known, ...groupMembers(child.pid)].filter(pidAlive);
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
    return stopped;
  };

  const deadline = Date.now() + (opts.ready_timeout_ms ?? 60_000);
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(
        `JupyterLab exited before it answered (${jupyter} ${args.join(" ")}):\n${log.join("").slice(-3000)}`,
      );
    }
    const ok = await fetch(`${url}/api/status`, { headers: { authorization: `token ${token}` } })
      .then(async (r) => {
        await r.body?.cancel();
        return r.ok;
      }).catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `JupyterLab did not answer on ${url} within ${opts.ready_timeout_ms ?? 60_000} ms:\n${
          log.join("").slice(-3000)
        }`,
      );
    }
    await sleep(200);
  }
  return {
    url,
    token,
    root,
    pid: child.pid,
    log: () => log.join(""),
    notebookUrl: (name) => `${url}/lab/tree/notebooks/${encodeURIComponent(name)}?token=${token}`,
    descendants,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}
