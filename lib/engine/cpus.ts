/**
 * CPU isolation between an engine the lab starts on this host and the lab's own client (the notebook kernel,
 * the runner, the load generator): the engine's process group gets one CPU set, the client the rest, so the
 * two do not take each other's cycles (docs/adr/0019-cpu-isolation.md).
 *
 * - {@link hostCpus} reads the CPUs this process may use (`Cpus_allowed_list`) and the NUMA nodes' CPU lists;
 * - {@link planCpus} splits them: on one node the client gets a quarter (at least 1, at most 4) of the CPUs,
 *   the engine the rest (on 2 CPUs: 1 + 1); on several nodes the engine keeps the first node and the client
 *   takes CPUs of the last one. `--cpus ENGINE_SET` (or `SERVELAB_CPUS`) overrides: the client gets the rest;
 * - {@link pinnedArgv} prefixes a command with `taskset -c SET`, which sets the affinity and then execs the
 *   command: the group leader keeps its pid and every process it starts inherits the set.
 * @module
 */

/** A CPU list as Linux writes it: `0`, `0-3`, `0,2,4-7`. */
export const CPU_LIST_RE = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/;

/**
 * Parses a CPU list (`0-3,8`) into sorted, distinct CPU ids; throws naming the input and the fix.
 *
 * @example
 * ```ts
 * parseCpuList("0-2,5"); // [0, 1, 2, 5]
 * ```
 */
export function parseCpuList(text: string, what = "CPU list"): number[] {
  const t = text.trim();
  if (!CPU_LIST_RE.test(t)) {
    throw new Error(`${what} '${text}' is not a CPU list; write it as Linux does, e.g. 0, 0-3 or 0,2,4-7.`);
  }
  const out = new Set<number>();
  for (const part of t.split(",")) {
    const [a, b] = part.split("-").map(Number);
    const hi = b ?? a;
    if (hi < a) throw new Error(`${what} '${text}': range ${part} runs backwards; write it low-high.`);
    for (let c = a; c <= hi; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * Formats CPU ids as a compact list.
 *
 * @example
 * ```ts
 * formatCpuList([0, 1, 2, 5]); // "0-2,5"
 * ```
 */
export function formatCpuList(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The CPUs this process may run on, and the NUMA nodes (each node's CPUs, restricted to those). */
export interface HostCpus {
  cpus: number[];
  nodes: { node: number; cpus: number[] }[];
}

/**
 * Reads the allowed CPUs (`/proc/self/status` Cpus_allowed_list, else `navigator.hardwareConcurrency`) and
 * the NUMA nodes (`/sys/devices/system/node/node*\/cpulist`; one node holding every CPU when absent).
 */
export function hostCpus(
  read: (path: string) => string | undefined = readText,
  list: (dir: string) => string[] = listDir,
): HostCpus {
  const status = read("/proc/self/status");
  const m = status?.match(/^Cpus_allowed_list:\s*(\S+)/m);
  const cpus = m ? parseCpuList(m[1]) : [...Array(navigator.hardwareConcurrency || 1).keys()];
  const nodes: HostCpus["nodes"] = [];
  for (const name of list("/sys/devices/system/node").filter((n) => /^node\d+$/.test(n))) {
    const text = read(`/sys/devices/system/node/${name}/cpulist`)?.trim();
    if (!text) continue;
    const mine = parseCpuList(text).filter((c) => cpus.includes(c));
    if (mine.length) nodes.push({ node: Number(name.slice(4)), cpus: mine });
  }
  nodes.sort((a, b) => a.node - b.node);
  return { cpus, nodes: nodes.length ? nodes : [{ node: 0, cpus }] };
}

/** Where an engine/client split came from. */
export type CpuPlanSource = "auto" | "--cpus" | "SERVELAB_CPUS";

/** The engine's and the client's CPU sets. */
export interface CpuPlan {
  /** The engine's process group: a CPU list. */
  engine: string;
  /** The lab's client (runner, kernel, load generator): a CPU list. */
  client: string;
  source: CpuPlanSource;
  /** Every CPU the lab may use, and how many NUMA nodes they span. */
  host: string;
  numa_nodes: number;
}

/**
 * Splits the host's CPUs between the engine and the client. `engineSet` (from `--cpus` or `SERVELAB_CPUS`)
 * fixes the engine's set; the client gets every other allowed CPU. Throws when the split leaves either side
 * empty or names CPUs this process may not use.
 *
 * @example
 * ```ts
 * planCpus({ cpus: [0, 1], nodes: [{ node: 0, cpus: [0, 1] }] }); // { engine: "0", client: "1", ... }
 * ```
 */
export function planCpus(host: HostCpus, engineSet?: string, source: CpuPlanSource = "auto"): CpuPlan {
  const all = host.cpus;
  const base = { host: formatCpuList(all), numa_nodes: host.nodes.length };
  if (all.length < 2) {
    throw new Error(
      `CPU isolation needs at least 2 CPUs; this process may use ${base.host || "none"}. ` +
        "Run with --cpus off (or SERVELAB_CPUS=off) to share the CPU.",
    );
  }
  if (engineSet !== undefined) {
    const what = source === "SERVELAB_CPUS" ? "SERVELAB_CPUS" : "--cpus";
    const engine = parseCpuList(engineSet, what);
    const foreign = engine.filter((c) => !all.includes(c));
    if (foreign.length) {
      throw new Error(
        `${what} ${engineSet}: CPU(s) ${formatCpuList(foreign)} are not available to this process ` +
          `(allowed: ${base.host}). Choose the engine's CPUs among those.`,
      );
    }
    const client = all.filter((c) => !engine.includes(c));
    if (client.length === 0) {
      throw new Error(
        `${what} ${engineSet} gives the engine every CPU (${base.host}) and leaves none to the lab's client. ` +
          "Leave at least one CPU out of the engine's set, or use --cpus off.",
      );
    }
    return { engine: formatCpuList(engine), client: formatCpuList(client), source, ...base };
  }
  if (host.nodes.length > 1) {
    const first = host.nodes[0].cpus;
    const last = host.nodes[host.nodes.length - 1].cpus;
    const k = clientShare(last.length);
    return {
      engine: formatCpuList(first),
      client: formatCpuList(last.slice(last.length - k)),
      source,
      ...base,
    };
  }
  const k = clientShare(all.length);
  return {
    engine: formatCpuList(all.slice(0, all.length - k)),
    client: formatCpuList(all.slice(all.length - k)),
    source,
    ...base,
  };
}

/** A quarter of n, at least 1, at most 4. */
function clientShare(n: number): number {
  return Math.min(4, Math.max(1, Math.floor(n / 4)));
}

/** The number of CPUs in a list. */
export function cpuCount(list: string): number {
  return parseCpuList(list).length;
}

/**
 * `argv` run on the CPU set `cpus` through `taskset -c` (util-linux), which sets the affinity and execs the
 * command, so the pid (and process-group leadership) stays the command's and its children inherit the set.
 *
 * @example
 * ```ts
 * pinnedArgv(["vllm", "serve", "m"], "0"); // ["taskset", "-c", "0", "vllm", "serve", "m"]
 * ```
 */
export function pinnedArgv(argv: readonly string[], cpus: string | undefined): string[] {
  if (cpus === undefined) return [...argv];
  parseCpuList(cpus, "engine CPU set");
  return [tasksetPath(), "-c", cpus, ...argv];
}

/**
 * Pins an existing process and all its threads (`taskset -a -p -c`), e.g. the notebook kernel onto the
 * client's set. Throws with taskset's message when it fails.
 */
export async function pinProcess(pid: number, cpus: string): Promise<void> {
  parseCpuList(cpus, "client CPU set");
  const out = await new Deno.Command(tasksetPath(), {
    args: ["-a", "-p", "-c", cpus, String(pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot pin process ${pid} to CPUs ${cpus}: taskset said ${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
}

/** The CPU list a process may run on now (`Cpus_allowed_list` of /proc/PID/status), or undefined. */
export function affinityOf(pid: number | "self" = "self"): string | undefined {
  return readText(`/proc/${pid}/status`)?.match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1];
}

let taskset: string | undefined;
function tasksetPath(): string {
  if (taskset) return taskset;
  for (const p of ["/usr/bin/taskset", "/bin/taskset", "/usr/local/bin/taskset"]) {
    try {
      if (Deno.statSync(p).isFile) return taskset = p;
    } catch { /* not here */ }
  }
  throw new Error(
    "CPU isolation needs `taskset` (util-linux), which is not installed. On Debian: apt-get install " +
      "util-linux; or run with --cpus off (SERVELAB_CPUS=off).",
  );
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

function listDir(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}
